package netproxy

import (
	"io"
	"net"
	"testing"
)

// A cut proxy closes each connection it is offered, and counts it.
func TestCutRefusesAndCounts(t *testing.T) {
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	p, err := Start(target.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Cut()
	for i := 1; i <= 2; i++ {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		// The proxy closes it, and has counted it by then.
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read from a cut link: %v, want EOF", err)
		}
		c.Close()
		if n := p.Refused(); n != i {
			t.Fatalf("%d refused after %d attempts", n, i)
		}
	}
	p.Mend()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in, err := target.Accept()
	if err != nil {
		t.Fatal(err)
	}
	in.Close()
	if n := p.Refused(); n != 2 {
		t.Fatalf("%d refused once mended, want 2", n)
	}
}
