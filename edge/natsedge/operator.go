package natsedge

// The operator's port: opt-in, the server's client port opens for one user,
// the operator, who may read the state of the streams and their consumers
// with the official nats CLI and do nothing else: no message is read, no
// stream or consumer is made, changed or deleted, nothing is published.
// The families' hubs link in on the leaf port only; they are refused on the
// operator's port, and the operator on the leaf port.

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/zoner-family/zoner/syncproto"
)

// OperatorUser is the operator's user name on the operator's port.
const OperatorUser = "zoner-operator"

// OperatorPasswordFile is the name of the file, in the store directory
// unless ServerConfig.OperatorFile says otherwise, that holds the
// operator's password.
const OperatorPasswordFile = "nats-operator-password"

// operatorPermissions let the operator ask JetStream's API about the
// account, its streams and their consumers, in the plain and in the
// cloud's domain's form (the nats CLI's --js-domain), and receive the
// answers.
func operatorPermissions() *server.Permissions {
	api := []string{
		server.JSApiAccountInfo,
		server.JSApiStreams, server.JSApiStreamList, server.JSApiStreamInfo,
		server.JSApiConsumers, server.JSApiConsumerList, server.JSApiConsumerInfo,
	}
	var publish []string
	for _, s := range api {
		publish = append(publish, s, strings.Replace(s, "$JS.API.", "$JS."+syncproto.CloudDomain+".API.", 1))
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: publish},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}
}

// operatorListen splits the operator's address; an empty host is the
// loopback interface.
func operatorListen(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("cloud nats: the operator's address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("cloud nats: the operator's address %q: the port is not a port number", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

// writeSecret writes secret to path with mode 0600, replacing what was
// there at once (a reader never sees half a file, nor a file others could
// read).
func writeSecret(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".operator-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// newOperatorPassword makes the operator's password for this start and
// writes it to path.
func newOperatorPassword(path string) (string, error) {
	password := rand.Text()
	if err := writeSecret(path, password); err != nil {
		return "", fmt.Errorf("cloud nats: write the operator's password: %w", err)
	}
	return password, nil
}
