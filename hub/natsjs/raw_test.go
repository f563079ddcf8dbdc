package natsjs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/internal/wait"
)

// The log compresses its full blocks, with and without a store key: the
// events read back the same by sequence, after a restart too, the blocks
// take less room than the events, and with a key no event shows in them.
// ReadRaw leaves out the sequences the log does not hold.
func TestReadRawFromCompressedBlocks(t *testing.T) {
	for _, key := range []string{"", "a key of the family's hub"} {
		t.Run(fmt.Sprintf("key=%v", key != ""), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := Config{StoreDir: dir, Port: -1, Key: key, Cipher: server.ChaCha}
			s, err := Start(ctx, cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			// Enough to fill and seal a block (2 MB with a key, 8 MB without).
			n := 9000
			if key == "" {
				n = 30000
			}
			events := make([]hub.Event, n)
			stored := 0
			for i := range events {
				events[i] = event(fmt.Sprintf("%06d %s", i, bytes.Repeat([]byte("sleep.logged "), 20)))
				stored += len(events[i].Raw)
			}
			for i := 0; i < n; i += 500 {
				if _, err := s.Append(ctx, events[i:min(i+500, n)]); err != nil {
					t.Fatal(err)
				}
			}
			info, err := s.stream.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.Config.Compression != jetstream.S2Compression {
				t.Errorf("stream compression %v, want s2", info.Config.Compression)
			}
			// A full block is compressed in the background.
			wait.For(t, 20*time.Second, "the full blocks compressed", func() error {
				return blocksSmaller(dir, stored, key != "")
			})
			s.Close()

			s, err = Start(ctx, cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := s.ReadRaw(ctx, []uint64{1, 2, uint64(n / 2), uint64(n), uint64(n + 1)})
			if err != nil {
				t.Fatal(err)
			}
			for _, seq := range []uint64{1, 2, uint64(n / 2), uint64(n)} {
				if !bytes.Equal(got[seq], events[seq-1].Raw) {
					t.Errorf("event %d reads %.40q, want %.40q", seq, got[seq], events[seq-1].Raw)
				}
			}
			if _, ok := got[uint64(n+1)]; ok || len(got) != 4 {
				t.Errorf("read %d events, want 4 (none past the end)", len(got))
			}
		})
	}
}

// blocksSmaller says why the log's blocks are not smaller than stored
// bytes of events, or, with plain, hold an event in plain text.
func blocksSmaller(dir string, stored int, encrypted bool) error {
	blocks, _ := filepath.Glob(filepath.Join(dir, "jetstream", "$G", "streams", StreamName, "msgs", "*.blk"))
	var size int64
	for _, b := range blocks {
		body, err := os.ReadFile(b)
		if err != nil {
			return err
		}
		size += int64(len(body))
		if encrypted && bytes.Contains(body, []byte("sleep.logged")) {
			return fmt.Errorf("%s holds an event in plain text", b)
		}
	}
	if len(blocks) < 2 || size >= int64(stored) {
		return fmt.Errorf("%d blocks of %d bytes for %d bytes of events: the full ones are not compressed", len(blocks), size, stored)
	}
	return nil
}
