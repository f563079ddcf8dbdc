package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub/sealed"
	"github.com/zoner-family/zoner/hub/sqlite"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

const atRestKey = "correct horse battery staple"

// quillfeathers is a family with names, a birth date, a trip and a sleep
// log that appear nowhere else, so their bytes can be looked for on disk.
func quillfeathers(t *testing.T, f *family) (events []syncproto.Envelope, secrets []string) {
	la := "America/Los_Angeles"
	born, err := syncproto.ParseDate("2017-11-23")
	if err != nil {
		t.Fatal(err)
	}
	sleep := f.event(f.kemi, mustTime(t, "2026-12-17T19:41:00-08:00"), mustTime(t, "2026-12-18T06:13:00-08:00"), la, &syncproto.Sleep{})
	events = []syncproto.Envelope{
		f.event(uuid.Nil, testNow, time.Time{}, la, &syncproto.FamilyUpserted{Name: "The Quillfeathers", HomeTZ: la}),
		f.event(f.ada, testNow, time.Time{}, la, &syncproto.MemberUpserted{DisplayName: "Zephyrine", AgeBand: syncproto.AgeAdult, HomeTZ: la,
			SleepTime: clock(23, 0), WakeTime: clock(7, 0)}),
		f.event(f.kemi, testNow, time.Time{}, la, &syncproto.MemberUpserted{DisplayName: "Ottoline", BirthDate: born, HomeTZ: la,
			SleepTime: clock(19, 30), WakeTime: clock(6, 30)}),
		f.event(f.tobi, testNow, time.Time{}, la, &syncproto.MemberUpserted{DisplayName: "Barnaby", AgeBand: syncproto.AgeAdult, HomeTZ: la,
			SleepTime: clock(22, 0), WakeTime: clock(6, 0)}),
	}
	trip := f.tripEvent()
	secrets = []string{"Quillfeathers", "Zephyrine", "Ottoline", "Barnaby", "2017-11-23", "Christmas in London", "BA286",
		f.id.String(), f.kemi.String(), sleep.ID.String(), trip.ID.String()}
	return append(events, trip, sleep), secrets
}

// plainFiles lists the files under dir holding any of secrets in plain
// text: every byte of every file, journals and set-aside copies included.
func plainFiles(t *testing.T, dir string, secrets []string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				rel, _ := filepath.Rel(dir, path)
				found = append(found, fmt.Sprintf("%s holds %q", rel, s))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func writeQuillfeathers(t *testing.T, c *client, f *family, events []syncproto.Envelope) {
	t.Helper()
	c.json("POST", "/api/v1/setup", f.encode(events[:4]...), 200, nil)
	c.json("POST", "/api/v1/events", f.encode(events[4:]...), 200, nil)
	waitForPlans(t, c, f)
}

func waitForPlans(t *testing.T, c *client, f *family) {
	t.Helper()
	wait.Until(t, 30*time.Second, "three plans", func() (bool, string) {
		var plans plansJSON
		c.json("GET", "/api/v1/trips/"+f.trip.String()+"/plan", nil, 200, &plans)
		return len(plans.Plans) == 3, fmt.Sprintf("%d plans", len(plans.Plans))
	})
}

var pairingToken = regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`)

// With a store key the hub writes nothing about the family in plain text
// anywhere in its data directory, and restarts with its state, its
// settings and its pairing intact. The same check finds the family in the
// data directory of a hub without a key.
func TestEncryptedAtRestWritesNoPlaintext(t *testing.T) {
	for _, key := range []string{atRestKey, ""} {
		dir := t.TempDir()
		var shown bytes.Buffer
		lan := func(m *Main) { m.StoreKey, m.HTTPAddr, m.Stdout = key, "0.0.0.0:0", &shown }
		m := mustRun(t, dir, lan)
		tok := pairingToken.FindString(shown.String())
		if tok == "" {
			t.Fatalf("no pairing token shown: %q", shown.String())
		}
		f := newFamily(t)
		events, secrets := quillfeathers(t, f)
		c := &client{tb: t, base: m.URL, token: tok}
		writeQuillfeathers(t, c, f, events)
		m.Close()

		found := plainFiles(t, dir, secrets)
		if key == "" {
			if len(found) == 0 || !exists(filepath.Join(dir, stateFile)) {
				t.Fatal("the check finds nothing in the data directory of a hub without a store key")
			}
			continue
		}
		for _, s := range found {
			t.Errorf("with a store key, %s", s)
		}
		var hubID string
		if settings, err := sealed.OpenMap(mustKey(t), filepath.Join(dir, sealedSettingsFile), "settings"); err != nil {
			t.Fatal(err)
		} else if hubID, _ = settings.Get("hub.id"); hubID == "" {
			t.Error("no hub id in the sealed settings")
		}

		shown.Reset()
		m = mustRun(t, dir, lan)
		if pairingToken.MatchString(shown.String()) {
			t.Errorf("a restart made a new pairing token: %q", shown.String())
		}
		c = &client{tb: t, base: m.URL, token: tok}
		body := c.json("GET", "/api/v1/family", nil, 200, nil)
		if !strings.Contains(string(body), "Quillfeathers") || !strings.Contains(string(body), "Ottoline") {
			t.Errorf("after a restart with the key, the family is %s", body)
		}
		waitForPlans(t, c, f)
		if settings, err := sealed.OpenMap(mustKey(t), filepath.Join(dir, sealedSettingsFile), "settings"); err != nil {
			t.Fatal(err)
		} else if id, _ := settings.Get("hub.id"); id != hubID {
			t.Errorf("the hub's id changed across a restart: %q → %q", hubID, id)
		}
		m.Close()
		for _, s := range plainFiles(t, dir, secrets) {
			t.Errorf("after a restart with a store key, %s", s)
		}
		if err := runErr(t, dir, ""); !errors.Is(err, errKeyNeeded) {
			t.Errorf("without the key: %v", err)
		}
		if err := runErr(t, dir, "wrong key"); !errors.Is(err, sealed.ErrWrongKey) {
			t.Errorf("with a wrong key: %v", err)
		}
	}
}

// A store key set on a hub that ran without one removes the plaintext it
// wrote (state database, journals, set-aside copies, pairing hash) and
// keeps the hub's id and pairing token.
func TestStoreKeyRemovesEarlierPlaintext(t *testing.T) {
	dir := t.TempDir()
	var shown bytes.Buffer
	m := mustRun(t, dir, func(m *Main) { m.HTTPAddr, m.Stdout = "0.0.0.0:0", &shown })
	tok := pairingToken.FindString(shown.String())
	f := newFamily(t)
	events, secrets := quillfeathers(t, f)
	writeQuillfeathers(t, &client{tb: t, base: m.URL, token: tok}, f, events)
	m.Close()
	old, err := sqlite.ReadSettings(context.Background(), filepath.Join(dir, stateFile))
	if err != nil || old["hub.id"] == "" {
		t.Fatalf("settings before the key: %v, %v", old, err)
	}
	// A copy set aside as broken is the family's data too.
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFile+".broken-20261201T000000Z"), b, 0o600); err != nil {
		t.Fatal(err)
	}

	shown.Reset()
	m = mustRun(t, dir, func(m *Main) { m.StoreKey, m.HTTPAddr, m.Stdout = atRestKey, "0.0.0.0:0", &shown })
	if pairingToken.MatchString(shown.String()) {
		t.Errorf("setting a key made a new pairing token: %q", shown.String())
	}
	c := &client{tb: t, base: m.URL, token: tok}
	if body := c.json("GET", "/api/v1/family", nil, 200, nil); !strings.Contains(string(body), "Zephyrine") {
		t.Errorf("after setting a key, the family is %s", body)
	}
	waitForPlans(t, c, f)
	m.Close()
	for _, s := range plainFiles(t, dir, secrets) {
		t.Errorf("after setting a store key, %s", s)
	}
	for _, name := range []string{stateFile, stateFile + "-wal", pairingFile, stateFile + ".broken-20261201T000000Z"} {
		if exists(filepath.Join(dir, name)) {
			t.Errorf("%s is left behind", name)
		}
	}
	settings, err := sealed.OpenMap(mustKey(t), filepath.Join(dir, sealedSettingsFile), "settings")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := settings.Get("hub.id"); id != old["hub.id"] {
		t.Errorf("the hub's id changed with the key: %q → %q", old["hub.id"], id)
	}
}

func mustKey(t *testing.T) *sealed.Key {
	k, err := sealed.NewKey(atRestKey, sealed.ChaCha)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// runErr runs the hub in dir with key and returns why it did not start.
func runErr(t *testing.T, dir, key string) error {
	t.Helper()
	m := NewMain()
	m.DataDir, m.HTTPAddr, m.StoreKey = dir, "127.0.0.1:0", key
	m.Logger, m.Stdout = newTestLogger(&bytes.Buffer{}), &bytes.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := m.Run(ctx)
	m.Close()
	if err == nil {
		t.Errorf("the hub started with key %q", key)
	}
	return err
}

// stop ends the hub as a service manager would (SIGTERM) and waits.
func (p *process) stop() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(os.Interrupt)
		p.cmd.Wait()
	}
}
