package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/cloud/warehouse/sqlite"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// A hub linked to zoner-cloud all asks for the body clock's priors over
// its leaf link and keeps them in its data directory: the warehouse holds
// six late adults' calibrated periods (a group large enough) and two
// early children's (too few).
func TestPriorsReachTheHub(t *testing.T) {
	dir := t.TempDir()
	m := startAll(t, dir, "")
	w, err := sqlite.Open(t.Context(), filepath.Join(dir, "warehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	var clocks []cloud.MemberClock
	for i, tau := range []float64{24.4, 24.5, 24.6, 24.5, 24.45, 24.55, 24.0, 24.1} {
		c := cloud.MemberClock{Family: uuid.New(), Member: uuid.New(), AgeBand: syncproto.AgeAdult,
			Chronotype: syncproto.ChronotypeLate, TauHours: tau, TauSDHours: 0.1, Nights: 20, Through: at, UpdatedAt: at}
		if i >= 6 {
			c.AgeBand, c.Chronotype = syncproto.AgeChild, syncproto.ChronotypeEarly
		}
		clocks = append(clocks, c)
	}
	if err := w.MergeClocks(t.Context(), clocks); err != nil {
		t.Fatal(err)
	}
	w.Close()

	hubData := t.TempDir()
	fam := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	linkedHub(t, m, dir, fam, "-data", hubData)
	var saved struct {
		FetchedAt time.Time              `json:"fetched_at"`
		Priors    []syncproto.ClockPrior `json:"priors"`
	}
	wait.For(t, 30*time.Second, "the priors saved by the hub", func() error {
		b, err := os.ReadFile(filepath.Join(hubData, "clock-priors.json"))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &saved)
	})
	if len(saved.Priors) != 1 {
		t.Fatalf("priors %+v: want the late adults' only", saved.Priors)
	}
	p := saved.Priors[0]
	// Six at 24.5 ± 0.0645 h against 24.35 ± 0.2 h weighted as ten: 24.41 h.
	if p.AgeBand != syncproto.AgeAdult || p.Chronotype != syncproto.ChronotypeLate || p.People != 6 ||
		fmt.Sprintf("%.3f", p.TauHours) != "24.406" {
		t.Errorf("prior %+v: want late adults at 24.406 h from 6 people", p)
	}
}
