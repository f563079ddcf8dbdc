package circadian

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// everyone is the ids of family(): two adults, a toddler, a baby, a teen
// and a child.
var everyone = []uuid.UUID{idAda, idEmeka, idKemi, idTobi, idTeen, idSam}

// problemSummary counts problems by rule and keeps a few examples.
func problemSummary(probs []Problem) string {
	by := map[Rule][]Problem{}
	for _, p := range probs {
		by[p.Rule] = append(by[p.Rule], p)
	}
	var rules []string
	for r := range by {
		rules = append(rules, string(r))
	}
	sort.Strings(rules)
	var b strings.Builder
	for _, r := range rules {
		ps := by[Rule(r)]
		fmt.Fprintf(&b, "%s: %d\n", r, len(ps))
		for _, p := range ps[:min(len(ps), 4)] {
			fmt.Fprintf(&b, "    %s\n", p)
		}
	}
	return b.String()
}

func TestGoldenCasesKeepInvariants(t *testing.T) {
	var all []Problem
	for _, gc := range goldenCases() {
		for _, in := range []syncproto.Intensity{syncproto.IntensityGentle, syncproto.IntensityBalanced, syncproto.IntensityAggressive} {
			req := Request{Trip: Trip{ID: idTrip, Legs: gc.legs(t), Travellers: everyone, Intensity: in}, People: family(t, gc.home)}
			plan := mustPlan(t, req)
			for _, p := range Check(req, plan) {
				p.Member = gc.name + "/" + string(in) + "/" + p.Member
				all = append(all, p)
			}
		}
	}
	if len(all) > 0 {
		t.Errorf("%d problems:\n%s", len(all), problemSummary(all))
	}
}

func TestShowPlan(t *testing.T) {
	if testing.Short() || !*update && !*show {
		t.Skip("-show prints a plan")
	}
	req := Request{Trip: Trip{ID: idTrip, Travellers: []uuid.UUID{idAda, idKemi}, Legs: []Leg{
		leg(t, "JL5", "JFK", "America/New_York", "2026-12-02 13:25", "HND", "Asia/Tokyo", "2026-12-03 17:20"),
	}, Intensity: syncproto.IntensityAggressive}, People: family(t, "America/New_York")}
	plan := mustPlan(t, req)
	t.Log(render(plan))
	t.Log(problemSummary(Check(req, plan)))
}
