//go:build integration

package snowflake

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// emulatorRuns says, for each form of admin statement, whether fakesnow
// runs it (true) or rejects it (false). fakesnow has no roles, users,
// virtual warehouses, grants, UDFs, masking policies or Time Travel: those
// statements are checked by parsing only (admin_test.go). What it runs is
// checked here: the database and schema, the pseudonymisation key, and
// the analyst views, queried. The redaction's expression, which fakesnow
// will not make a function of, would be evaluated here as a query, but
// fakesnow lacks the functions it calls (the test says so and skips).
var emulatorRuns = map[string]bool{
	"create database": true, "create schema": true, "key table": true, "key": true, "secure view": true,
	"create role": false, "create warehouse": false, "retention": false, "create user": false,
	"grant role": false, "grant": false, "function": false, "create policy": false,
	"policy body": false, "set masking policy": false,
}

// adminForm names the form of a rendered admin statement.
func adminForm(q string) string {
	text := regexp.MustCompile(`\s+`).ReplaceAllString(q, " ")
	for form, re := range adminForms {
		if re.MatchString(text) {
			return form
		}
	}
	return "unknown"
}

func TestAdminOnTheEmulator(t *testing.T) {
	cfg := fakesnowConfig(t)
	w := mustOpen(t, cfg)
	ctx := t.Context()
	scripts, err := adminScripts(cfg.Database, cfg.Schema, "ZONER_TEST_WH")
	if err != nil {
		t.Fatal(err)
	}
	ran, refused := map[string]int{}, map[string]int{}
	for round := range 2 { // twice: every statement fakesnow runs is idempotent
		for _, s := range scripts {
			for i, q := range s.statements {
				form := adminForm(q)
				want, known := emulatorRuns[form]
				if !known {
					t.Fatalf("%s statement %d: form %q has no entry in emulatorRuns", s.name, i+1, form)
				}
				_, err := w.db.ExecContext(ctx, q)
				if round == 0 {
					if err == nil {
						ran[form]++
					} else {
						refused[form]++
					}
				}
				if (err == nil) != want {
					t.Errorf("round %d, %s statement %d (%s): error %v, want it to run: %t (update emulatorRuns and docs/privacy.md)", round+1, s.name, i+1, form, err, want)
				}
			}
		}
	}
	t.Logf("fakesnow ran: %v; refused (checked by parsing only): %v", ran, refused)

	// One key, made once.
	var keys int
	var secret string
	if err := w.db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(SECRET) FROM PSEUDONYM_KEY").Scan(&keys, &secret); err != nil {
		t.Fatal(err)
	}
	if keys != 1 || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(secret) {
		t.Errorf("PSEUDONYM_KEY: %d rows, secret of %d characters", keys, len(secret))
	}

	t.Run("analyst views", func(t *testing.T) { checkAnalystViews(t, w) })
	t.Run("redaction", func(t *testing.T) { checkRedaction(t, w, scripts) })
}

// checkAnalystViews writes one member's metrics, a trip's outcome and a
// clock, and reads them through the views: a member is the same 64-hex
// pseudonym in every view, and no id appears.
func checkAnalystViews(t *testing.T, w *Warehouse) {
	ctx := t.Context()
	family, member, trip := uuid.New(), uuid.New(), uuid.New()
	now := time.Date(2026, 7, 20, 12, 0, 0, 0, time.UTC)
	day := syncproto.Date{Year: 2026, Month: 7, Day: 19}
	if err := w.MergeDaily(ctx, []cloud.MemberDay{{Family: family, Member: member, Day: day, AgeBand: "child",
		Trip: trip, TripDay: 2, SleepMin: 540, HabitualSleepMin: 600, UpdatedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if err := w.MergeOutcomes(ctx, []cloud.TripOutcome{{Family: family, Trip: trip, Member: member, Direction: "east",
		Zones: 8, AgeBand: "child", Arrived: day, UpdatedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if err := w.MergeClocks(ctx, []cloud.MemberClock{{Family: family, Member: member, AgeBand: "child", Chronotype: "late",
		TauHours: 24.3, TauSDHours: 0.1, Nights: 9, Through: now, UpdatedAt: now}}); err != nil {
		t.Fatal(err)
	}
	ids := []string{family.String(), member.String(), trip.String()}
	read := func(q string) []string {
		rows, err := w.db.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				s := strings.TrimSpace(strings.Trim(strings.TrimSpace(toText(v)), `"`))
				for _, id := range ids {
					if strings.Contains(s, id) {
						t.Errorf("%s: column %s shows an id: %s", q, cols[i], s)
					}
				}
				out = append(out, cols[i]+"="+s)
			}
		}
		return out
	}
	daily := read("SELECT MEMBER_PSEUDONYM, TRIP_PSEUDONYM, AGE_BAND, SLEEP_MIN FROM ANALYST_DAILY_METRICS")
	outcomes := read("SELECT MEMBER_PSEUDONYM, TRIP_PSEUDONYM, AGE_BAND FROM ANALYST_TRIP_OUTCOMES")
	clocks := read("SELECT MEMBER_PSEUDONYM, AGE_BAND, NIGHTS FROM ANALYST_MEMBER_CLOCKS")
	if len(daily) != 4 || len(outcomes) != 3 || len(clocks) != 3 {
		t.Fatalf("views read %v %v %v", daily, outcomes, clocks)
	}
	hex := regexp.MustCompile(`^(MEMBER|TRIP)_PSEUDONYM=[0-9a-f]{64}$`)
	for _, c := range []string{daily[0], daily[1], outcomes[0], outcomes[1], clocks[0]} {
		if !hex.MatchString(c) {
			t.Errorf("pseudonym %s: want 64 hex digits", c)
		}
	}
	if daily[0] != outcomes[0] || daily[0] != clocks[0] || daily[1] != outcomes[1] || daily[0][len("MEMBER_"):] == daily[1][len("TRIP_"):] {
		t.Errorf("pseudonyms disagree across views, or a member's equals a trip's: %v %v %v", daily, outcomes, clocks)
	}
	if daily[2] != "AGE_BAND=child" || daily[3] != "SLEEP_MIN=540" {
		t.Errorf("daily view: %v", daily)
	}
	for _, q := range []string{"SELECT FAMILY FROM ANALYST_DAILY_METRICS", "SELECT MEMBER FROM ANALYST_TRIP_OUTCOMES", "SELECT FAMILY FROM ANALYST_MEMBER_CLOCKS"} {
		if rows, err := w.db.QueryContext(ctx, q); err == nil {
			rows.Close()
			t.Errorf("%s: the view has the column", q)
		}
	}
}

func toText(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(v)
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// checkRedaction evaluates ZONER_REDACT_EVENT's expression (fakesnow makes
// no SQL function of it) on the contract's golden events: names and the
// device replaced, a trip's name removed, the birth date kept or removed;
// with the birth date kept, the event is still valid, as ingest and the
// recommender need it to be.
func checkRedaction(t *testing.T, w *Warehouse, scripts []adminScript) {
	var body string
	for _, q := range scripts[1].statements {
		if adminForm(q) == "function" {
			body = adminForms["function"].FindStringSubmatch(regexp.MustCompile(`\s+`).ReplaceAllString(q, " "))[2]
		}
	}
	if body == "" {
		t.Fatal("no redaction function")
	}
	query := func(keep bool) string {
		return "WITH ARGS AS (SELECT PARSE_JSON(?) AS E, " + strings.ToUpper(strconv.FormatBool(keep)) +
			" AS KEEP_BIRTH_DATE) SELECT TO_JSON(" + body + ") FROM ARGS"
	}
	redact := func(file string, keep bool) (orig, got map[string]any, raw string) {
		b, err := os.ReadFile("../../../syncproto/testdata/valid/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.db.QueryRowContext(t.Context(), query(keep), string(b)).Scan(&raw); err != nil {
			if m := missingFunction.FindStringSubmatch(err.Error()); m != nil {
				// The emulator (DuckDB) has no IS_OBJECT, OBJECT_INSERT or
				// OBJECT_DELETE: the redaction is checked by parsing only.
				t.Skipf("fakesnow cannot evaluate the redaction: it has no function %s", strings.ToUpper(m[1]))
			}
			t.Fatalf("redact %s: %v", file, err)
		}
		if err := json.Unmarshal(b, &orig); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(raw), &got); err != nil {
			t.Fatalf("redact %s: %q: %v", file, raw, err)
		}
		return orig, got, raw
	}
	data := func(m map[string]any) map[string]any { d, _ := m["data"].(map[string]any); return d }
	for _, keep := range []bool{true, false} {
		orig, got, raw := redact("member_upserted_toddler.json", keep)
		d := data(got)
		if got["origin"] != "redacted" || d["display_name"] != "redacted" || strings.Contains(raw, "Kemi") || strings.Contains(raw, "ada-phone") {
			t.Errorf("member, keep %t: names left: %s", keep, raw)
		}
		if _, has := d["birth_date"]; has != keep {
			t.Errorf("member, keep %t: birth date present %t: %s", keep, has, raw)
		}
		for _, k := range []string{"home_tz", "sleep_time", "wake_time", "naps", "typical_light"} {
			if !jsonEqual(d[k], data(orig)[k]) {
				t.Errorf("member, keep %t: %s changed: %v, was %v", keep, k, d[k], data(orig)[k])
			}
		}
		for _, k := range []string{"id", "family_id", "member_id", "type", "start", "tz", "hlc", "v"} {
			if !jsonEqual(got[k], orig[k]) {
				t.Errorf("member, keep %t: envelope %s changed: %v, was %v", keep, k, got[k], orig[k])
			}
		}
		if keep {
			if _, err := syncproto.Unmarshal([]byte(raw)); err != nil {
				t.Errorf("member redacted for ingest is not a valid event: %v: %s", err, raw)
			}
		}
	}
	_, fam, raw := redact("family_upserted.json", false)
	if data(fam)["name"] != "redacted" {
		t.Errorf("family: %s", raw)
	}
	if _, err := syncproto.Unmarshal([]byte(raw)); err != nil {
		t.Errorf("family redacted is not a valid event: %v", err)
	}
	orig, trip, raw := redact("trip_upserted_layover.json", false)
	if _, has := data(trip)["name"]; has || !jsonEqual(data(trip)["legs"], data(orig)["legs"]) {
		t.Errorf("trip: want its name removed and its legs kept: %s", raw)
	}
	if _, err := syncproto.Unmarshal([]byte(raw)); err != nil {
		t.Errorf("trip redacted is not a valid event: %v", err)
	}
	_, sleep, raw := redact("sleep_night.json", false)
	if sleep["origin"] != "redacted" {
		t.Errorf("sleep: %s", raw)
	}
	if _, err := syncproto.Unmarshal([]byte(raw)); err != nil {
		t.Errorf("sleep redacted is not a valid event: %v", err)
	}
	var null *string
	if err := w.db.QueryRowContext(t.Context(), query(false), "[1, 2]").Scan(&null); err != nil || null != nil {
		t.Errorf("redact a non-object = %v, %v; want NULL", null, err)
	}
}

// missingFunction is the emulator's answer to a function it lacks.
var missingFunction = regexp.MustCompile(`Scalar Function with name (\w+) does not exist`)

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Administer stops at the first statement that fails, naming it: on the
// emulator, the first CREATE ROLE.
func TestAdministerStopsAtTheFirstRefusal(t *testing.T) {
	cfg := fakesnowConfig(t)
	cfg.Warehouse = "ZONER_TEST_WH"
	err := Administer(t.Context(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "0001_roles.sql statement 1 (CREATE ROLE IF NOT EXISTS ZONER_INGEST") {
		t.Fatalf("Administer on fakesnow = %v, want it stopped at the first CREATE ROLE", err)
	}
	cfg.Warehouse = ""
	if err := Administer(t.Context(), cfg, nil); err == nil || !strings.Contains(err.Error(), "warehouse") {
		t.Errorf("Administer without a warehouse = %v", err)
	}
}
