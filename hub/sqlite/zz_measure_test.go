package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/zoner-family/zoner/hub"
	hist "github.com/zoner-family/zoner/internal/history"
)

func TestZZMeasure(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ZZ_N"))
	if n == 0 {
		t.Skip()
	}
	f := hist.New(1, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	raws, err := hist.Encode(f.History(n))
	if err != nil {
		t.Fatal(err)
	}
	js := 0
	evs := make([]hub.Event, len(raws))
	for i, r := range raws {
		evs[i] = hub.Event{Seq: uint64(i + 1), Raw: r}
		js += len(r)
	}
	path := filepath.Join(t.TempDir(), "hub.db")
	s := mustOpen(t, path)
	if os.Getenv("ZZ_LOG") != "" {
		s.SetLog(zzLog{}, uint64(n), 0)
	}
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < len(evs); i += 500 {
		if _, err := s.Apply(ctx, evs[i:min(i+500, len(evs))]); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("apply", time.Since(start), "json/event", js/n)
	rows, err := s.db.Query("SELECT name, sum(pgsize), sum(payload) FROM dbstat GROUP BY name ORDER BY 2 DESC")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var sz, pl int64
		rows.Scan(&name, &sz, &pl)
		fmt.Printf("%-30s %8d B/event  payload %d\n", name, sz/int64(n), pl/int64(n))
	}
	s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	fi, _ := os.Stat(path)
	fmt.Println("file B/event", fi.Size()/int64(n))
}

type zzLog struct{}

func (zzLog) ReadRaw(context.Context, []uint64) (map[uint64][]byte, error) { return nil, nil }
