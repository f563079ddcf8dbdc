package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/hub/natsjs"
	famhistory "github.com/zoner-family/zoner/internal/history"
	"github.com/zoner-family/zoner/syncproto"
)

// benchEvents is the size of a benchmark's log: ZONER_BENCH_EVENTS,
// default 100,000.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("ZONER_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// historyEvents is a family's history of n events as the log delivers
// them: sequence and JSON.
func historyEvents(tb testing.TB, n int) []hub.Event {
	f := famhistory.New(1, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	raws, err := famhistory.Encode(f.History(n))
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]hub.Event, len(raws))
	for i, r := range raws {
		out[i] = hub.Event{Seq: uint64(i + 1), Raw: r}
	}
	return out
}

// logOnDisk is a log that holds every event: a rebuild keeps none of
// their JSON in the state.
type logOnDisk map[uint64][]byte

func (l logOnDisk) ReadRaw(_ context.Context, seqs []uint64) (map[uint64][]byte, error) {
	out := map[uint64][]byte{}
	for _, s := range seqs {
		if r, ok := l[s]; ok {
			out[s] = r
		}
	}
	return out, nil
}

// BenchmarkRebuild rebuilds the state of a family's history of
// ZONER_BENCH_EVENTS events (default 100,000) as `zoner-hub rebuild` does:
// an empty state database file, its deferred indexes, the projector
// reading the hub's JetStream log (hub/natsjs, on disk) and applying it in
// batches, the indexes built at the end; and, in the same run, inserts the
// same events raw: sequence, id and JSON into a table with its primary key
// and a unique id index, 500 rows a transaction through a prepared
// statement, with the same pragmas (openDB's, and the page cache Apply
// sets). It reports both in seconds of wall time, "s" and "raw-s", and
// "ratio" = s/raw-s, lower is better (the target is at most 2); and, since
// a shared machine makes wall time noisy, the process's CPU time of each,
// "cpu-s" and "raw-cpu-s", with "cpu-ratio".
func BenchmarkRebuild(b *testing.B) {
	events := historyEvents(b, benchEvents())
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	log, err := natsjs.Start(ctx, natsjs.Config{StoreDir: b.TempDir(), Port: -1}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	for i := 0; i < len(events); i += 500 {
		batch := slices.Clone(events[i:min(i+500, len(events))])
		for j := range batch {
			if batch[j].Header, err = syncproto.DecodeHeader(batch[j].Raw); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := log.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	var rebuild, raw, rebuildCPU, rawCPU time.Duration
	for range b.N {
		b.StopTimer()
		s := mustOpen(b, filepath.Join(b.TempDir(), "hub.db"))
		s.SetLog(log, uint64(len(events)), 0)
		b.StartTimer()
		start, startCPU := time.Now(), cpuTime(b)
		if err := s.DeferIndexes(ctx); err != nil {
			b.Fatal(err)
		}
		feed, err := log.OpenFeed(ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		p, err := hub.NewProjector(ctx, s, feed, log, quiet, hub.NewMetrics(), nil)
		if err != nil {
			b.Fatal(err)
		}
		run, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { p.Run(run); close(done) }()
		if err := p.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		stop()
		<-done
		if err := s.BuildIndexes(ctx); err != nil {
			b.Fatal(err)
		}
		rebuild += time.Since(start)
		rebuildCPU += cpuTime(b) - startCPU
		b.StopTimer()
		s.Close()
		wall, cpu := rawInserts(b, rawDB(b, filepath.Join(b.TempDir(), "raw.db")), events, 500)
		raw += wall
		rawCPU += cpu
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(rebuild.Seconds()/n, "s")
	b.ReportMetric(raw.Seconds()/n, "raw-s")
	b.ReportMetric(rebuild.Seconds()/raw.Seconds(), "ratio")
	b.ReportMetric(rebuildCPU.Seconds()/n, "cpu-s")
	b.ReportMetric(rawCPU.Seconds()/n, "raw-cpu-s")
	b.ReportMetric(rebuildCPU.Seconds()/rawCPU.Seconds(), "cpu-ratio")
	b.ReportMetric(float64(len(events))*n/rebuild.Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the CPU time the process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawDB is an empty database for rawInserts: a file at path with the
// state's pragmas, or, for path "", one in memory as an in-memory state
// is.
func rawDB(tb testing.TB, path string) *sql.DB {
	var db *sql.DB
	var err error
	if path != "" {
		db, err = openDB(path)
	} else {
		q := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "foreign_keys(ON)", "temp_store(MEMORY)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		q.Set("vfs", "memdb")
		db, err = sql.Open("sqlite", "file:/zoner-raw-"+uuid.NewString()+"?"+q.Encode())
	}
	if err != nil {
		tb.Fatal(err)
	}
	// One connection, that keeps an in-memory database alive and has the
	// page cache Apply sets on its own, for the same pragmas.
	db.SetMaxOpenConns(1)
	if path != "" {
		if _, err := db.ExecContext(context.Background(), applyCache); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

// rawInserts is how long plain inserts of events into db take, batch
// rows a transaction through a statement prepared once, in wall and CPU
// time: the floor of any fold that stores each event's id.
func rawInserts(tb testing.TB, db *sql.DB, events []hub.Event, batch int) (time.Duration, time.Duration) {
	ctx := context.Background()
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, raw BLOB NOT NULL) STRICT"); err != nil {
		tb.Fatal(err)
	}
	ids := make([]string, len(events))
	for i, e := range events {
		h, err := syncproto.DecodeHeader(e.Raw)
		if err != nil {
			tb.Fatal(err)
		}
		ids[i] = h.ID.String()
	}
	insert, err := db.PrepareContext(ctx, "INSERT INTO events (seq, id, raw) VALUES (?, ?, ?)")
	if err != nil {
		tb.Fatal(err)
	}
	defer insert.Close()
	start, startCPU := time.Now(), cpuTime(tb)
	for i := 0; i < len(events); i += batch {
		err := func() error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			st := tx.StmtContext(ctx, insert)
			for j := i; j < min(i+batch, len(events)); j++ {
				if _, err := st.ExecContext(ctx, events[j].Seq, ids[j], events[j].Raw); err != nil {
					return err
				}
			}
			return tx.Commit()
		}()
		if err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start), cpuTime(tb) - startCPU
}
