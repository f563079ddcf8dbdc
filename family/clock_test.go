package family

import (
	"strings"
	"testing"

	"github.com/zoner-family/zoner/circadian"
)

func TestClockWords(t *testing.T) {
	for _, tc := range []struct {
		name  string
		clock *circadian.PersonalClock
		state string
		says  []string
	}{
		{"nothing", nil, ClockNone, []string{"has not learned Ada's body clock", "usual bedtime"}},
		{"one night", &circadian.PersonalClock{Tau: 24.2, TauSD: 0.2, PlanTau: 24.2, ShiftSD: 1.4, Nights: 1}, ClockLearning, []string{"from 1 night;"}},
		{"phase later", &circadian.PersonalClock{Tau: 24.2, TauSD: 0.18, PlanTau: 24.2, Shift: 0.75, ShiftSD: 0.5, Nights: 3}, ClockPhase,
			[]string{"runs about 45 min later than the usual bedtime suggests", "from 3 nights", "needs a few more nights"}},
		{"phase in step", &circadian.PersonalClock{Tau: 24.2, TauSD: 0.18, PlanTau: 24.2, Shift: -0.1, ShiftSD: 0.5, Nights: 4}, ClockPhase,
			[]string{"keeps time with the usual bedtime"}},
		{"period late", &circadian.PersonalClock{Tau: 24.34, TauSD: 0.09, PlanTau: 24.34, Shift: 0.3, ShiftSD: 0.4, Nights: 21}, ClockPeriod,
			[]string{"Ada's clock runs a little late: 24.3 h ± 0.1, from 21 nights. Plans use it."}},
		{"period early", &circadian.PersonalClock{Tau: 23.9, TauSD: 0.12, PlanTau: 23.9, Shift: -1.5, ShiftSD: 0.4, Nights: 30}, ClockPeriod,
			[]string{"runs early: 23.9 h"}},
		{"unsure phase", &circadian.PersonalClock{Tau: 24.2, TauSD: 0.1, PlanTau: 24.2, Shift: 2, ShiftSD: 1.6, Nights: 9}, ClockLearning,
			[]string{"learning Ada's body clock from 9 nights"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, summary := ClockWords("Ada", tc.clock)
			if state != tc.state {
				t.Errorf("state %q, want %q (%s)", state, tc.state, summary)
			}
			for _, s := range tc.says {
				if !strings.Contains(summary, s) {
					t.Errorf("%q does not say %q", summary, s)
				}
			}
		})
	}
}
