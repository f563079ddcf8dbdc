package snowflake

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The administration scripts are checked statement by statement: each is
// one of the forms below, each role gets exactly the grants of wantGrants,
// and every personal field of the event contract is masked for every
// role that does not need it. (admin_integration_test.go runs what the
// emulator can run.)

// adminForms are the only statements the scripts may hold.
var adminForms = map[string]*regexp.Regexp{
	"create role":        regexp.MustCompile(`^CREATE ROLE IF NOT EXISTS (ZONER_\w+) COMMENT = '[^;]*'$`),
	"create warehouse":   regexp.MustCompile(`^CREATE WAREHOUSE IF NOT EXISTS (\w+) WAREHOUSE_SIZE = 'XSMALL' AUTO_SUSPEND = \d+ AUTO_RESUME = TRUE INITIALLY_SUSPENDED = TRUE$`),
	"create database":    regexp.MustCompile(`^CREATE DATABASE IF NOT EXISTS (\w+)$`),
	"create schema":      regexp.MustCompile(`^CREATE SCHEMA IF NOT EXISTS (\w+\.\w+)$`),
	"retention":          regexp.MustCompile(`^ALTER (SCHEMA|TABLE) ([\w.]+) SET DATA_RETENTION_TIME_IN_DAYS = (\d+)$`),
	"create user":        regexp.MustCompile(`^CREATE USER IF NOT EXISTS (\w+) TYPE = SERVICE DEFAULT_ROLE = (\w+) DEFAULT_WAREHOUSE = (\w+) DEFAULT_NAMESPACE = ([\w.]+) COMMENT = '[^']*'$`),
	"grant role":         regexp.MustCompile(`^GRANT ROLE (\w+) TO USER (\w+)$`),
	"grant":              regexp.MustCompile(`^GRANT ((?:SELECT|INSERT|UPDATE|USAGE|CREATE TABLE|CREATE STAGE)(?:, (?:SELECT|INSERT|UPDATE|USAGE|CREATE TABLE|CREATE STAGE))*) ON (WAREHOUSE|DATABASE|SCHEMA|TABLE|VIEW) ([\w.]+) TO ROLE (\w+)$`),
	"key table":          regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS PSEUDONYM_KEY \( SECRET VARCHAR NOT NULL, CREATED TIMESTAMP_NTZ\(9\) NOT NULL \)$`),
	"key":                regexp.MustCompile(`^INSERT INTO PSEUDONYM_KEY \(SECRET, CREATED\) SELECT SHA2\(UUID_STRING\(\) \|\| UUID_STRING\(\), 256\), SYSDATE\(\) WHERE NOT EXISTS \(SELECT 1 FROM PSEUDONYM_KEY\)$`),
	"function":           regexp.MustCompile(`^CREATE OR REPLACE FUNCTION (ZONER_REDACT_EVENT)\(E VARIANT, KEEP_BIRTH_DATE BOOLEAN\) RETURNS VARIANT COMMENT = '[^']*' AS \$\$ (.*) \$\$$`),
	"create policy":      regexp.MustCompile(`^CREATE MASKING POLICY IF NOT EXISTS (\w+) AS \(VAL (VARIANT|VARCHAR)\) RETURNS (VARIANT|VARCHAR) -> NULL::(VARIANT|VARCHAR) COMMENT = '[^']*'$`),
	"policy body":        regexp.MustCompile(`^ALTER MASKING POLICY (\w+) SET BODY -> CASE (.*) END$`),
	"set masking policy": regexp.MustCompile(`^ALTER TABLE (\w+) MODIFY COLUMN (\w+) SET MASKING POLICY (\w+) FORCE$`),
	"secure view":        regexp.MustCompile(`^CREATE OR REPLACE SECURE VIEW (\w+) COPY GRANTS COMMENT = '[^']*' AS SELECT (.*) FROM (\w+) (\w) CROSS JOIN PSEUDONYM_KEY K$`),
}

// wantGrants is every privilege each role is granted, as "PRIVILEGE ON
// KIND OBJECT", for database DB, schema SCH and warehouse WH. ZONER_ADMIN
// is granted nothing: it owns every object.
var wantGrants = map[string][]string{
	RoleIngest: {
		"USAGE ON WAREHOUSE WH", "USAGE ON DATABASE DB", "USAGE ON SCHEMA DB.SCH",
		"CREATE TABLE ON SCHEMA DB.SCH", "CREATE STAGE ON SCHEMA DB.SCH",
		"SELECT ON TABLE SCHEMA_MIGRATIONS",
		"SELECT ON TABLE RAW_EVENTS", "INSERT ON TABLE RAW_EVENTS",
		"SELECT ON TABLE MEMBER_DAILY_METRICS", "INSERT ON TABLE MEMBER_DAILY_METRICS", "UPDATE ON TABLE MEMBER_DAILY_METRICS",
		"SELECT ON TABLE TRIP_OUTCOMES", "INSERT ON TABLE TRIP_OUTCOMES", "UPDATE ON TABLE TRIP_OUTCOMES",
		"SELECT ON TABLE MEMBER_CLOCKS", "INSERT ON TABLE MEMBER_CLOCKS", "UPDATE ON TABLE MEMBER_CLOCKS",
	},
	RoleRecommender: {
		"USAGE ON WAREHOUSE WH", "USAGE ON DATABASE DB", "USAGE ON SCHEMA DB.SCH",
		"SELECT ON TABLE SCHEMA_MIGRATIONS", "SELECT ON TABLE RAW_EVENTS",
	},
	RoleAPI: {
		"USAGE ON WAREHOUSE WH", "USAGE ON DATABASE DB", "USAGE ON SCHEMA DB.SCH",
		"SELECT ON TABLE SCHEMA_MIGRATIONS", "SELECT ON TABLE RAW_EVENTS",
		"SELECT ON TABLE MEMBER_DAILY_METRICS", "SELECT ON TABLE TRIP_OUTCOMES", "SELECT ON TABLE MEMBER_CLOCKS",
	},
	RoleAnalyst: {
		"USAGE ON WAREHOUSE WH", "USAGE ON DATABASE DB", "USAGE ON SCHEMA DB.SCH",
		"SELECT ON VIEW ANALYST_DAILY_METRICS", "SELECT ON VIEW ANALYST_TRIP_OUTCOMES", "SELECT ON VIEW ANALYST_MEMBER_CLOCKS",
	},
}

// wantUsers is each service user's role.
var wantUsers = map[string]string{
	"ZONER_INGEST_SVC": RoleIngest, "ZONER_RECOMMENDER_SVC": RoleRecommender, "ZONER_API_SVC": RoleAPI,
}

// What a role reads of an event's payload.
const (
	seesAll       = "everything"
	seesBirthDate = "no names, the birth date"
	seesNothing   = "no names, no birth date"
)

// wantSees is what each role reads of RAW_EVENTS' payloads; "PUBLIC"
// stands for every role not named.
var wantSees = map[string]string{
	RoleAdmin: seesAll, RoleAPI: seesAll, RoleRecommender: seesAll,
	RoleIngest:  seesBirthDate,
	RoleAnalyst: seesNothing, "PUBLIC": seesNothing,
}

// retentionDays is Time Travel on every table (docs/privacy.md).
const retentionDays = "1"

type adminStmt struct {
	file, form, text string
	m                []string
}

// parseAdmin renders the scripts for DB.SCH on WH and classifies every
// statement, failing on one of no known form.
func parseAdmin(t *testing.T) []adminStmt {
	t.Helper()
	scripts, err := adminScripts("DB", "SCH", "WH")
	if err != nil {
		t.Fatal(err)
	}
	var out []adminStmt
	space := regexp.MustCompile(`\s+`)
	for _, s := range scripts {
		for _, q := range s.statements {
			text := space.ReplaceAllString(q, " ")
			var found []adminStmt
			for form, re := range adminForms {
				if m := re.FindStringSubmatch(text); m != nil {
					found = append(found, adminStmt{file: s.name, form: form, text: text, m: m})
				}
			}
			if len(found) != 1 {
				t.Errorf("%s: statement of %d known forms (want 1): %s", s.name, len(found), text)
				continue
			}
			out = append(out, found[0])
		}
	}
	return out
}

func byForm(stmts []adminStmt, form string) []adminStmt {
	var out []adminStmt
	for _, s := range stmts {
		if s.form == form {
			out = append(out, s)
		}
	}
	return out
}

func TestAdminScripts(t *testing.T) {
	scripts, err := adminScripts("DB", "SCH", "WH")
	if err != nil {
		t.Fatal(err)
	}
	if scripts[0].name != "0001_roles.sql" || scripts[1].name != "0002_privacy.sql" {
		t.Errorf("scripts = %s, %s", scripts[0].name, scripts[1].name)
	}
	for _, bad := range [][3]string{{"DB;DROP", "SCH", "WH"}, {"DB", "", "WH"}, {"DB", "SCH", "W H"}} {
		if _, err := adminScripts(bad[0], bad[1], bad[2]); err == nil || !strings.Contains(err.Error(), "plain identifier") {
			t.Errorf("adminScripts(%q) = %v, want a refusal", bad, err)
		}
	}
	if ServiceRole("ingest") != RoleIngest || ServiceRole("recommender") != RoleRecommender || ServiceRole("api") != RoleAPI || ServiceRole("all") != "" {
		t.Error("ServiceRole does not name each service's role")
	}
}

func TestAdminGrantsExactly(t *testing.T) {
	stmts := parseAdmin(t)
	got := map[string][]string{}
	for _, s := range byForm(stmts, "grant") {
		privs, kind, object, role := s.m[1], s.m[2], s.m[3], s.m[4]
		for p := range strings.SplitSeq(privs, ", ") {
			g := p + " ON " + kind + " " + object
			if slices.Contains(got[role], g) {
				t.Errorf("%s granted twice to %s", g, role)
			}
			got[role] = append(got[role], g)
		}
	}
	for role := range got {
		if _, ok := wantGrants[role]; !ok {
			t.Errorf("role %s is granted %v, and should be granted nothing", role, got[role])
		}
	}
	for role, want := range wantGrants {
		slices.Sort(want)
		g := slices.Sorted(slices.Values(got[role]))
		if !slices.Equal(g, want) {
			t.Errorf("%s is granted\n  %v\nwant\n  %v", role, g, want)
		}
	}

	// Every role granted is made, and ZONER_ADMIN, made once by an
	// account administrator, is not.
	var made []string
	for _, s := range byForm(stmts, "create role") {
		made = append(made, s.m[1])
	}
	slices.Sort(made)
	if want := []string{RoleAnalyst, RoleAPI, RoleIngest, RoleRecommender}; !slices.Equal(made, want) {
		t.Errorf("roles made: %v, want %v", made, want)
	}

	// One service user a service, with its role as default and as its
	// only grant, and the warehouse and schema as defaults.
	users := map[string]string{}
	for _, s := range byForm(stmts, "create user") {
		users[s.m[1]] = s.m[2]
		if s.m[3] != "WH" || s.m[4] != "DB.SCH" {
			t.Errorf("user %s: default warehouse %s, namespace %s", s.m[1], s.m[3], s.m[4])
		}
	}
	granted := map[string][]string{}
	for _, s := range byForm(stmts, "grant role") {
		granted[s.m[2]] = append(granted[s.m[2]], s.m[1])
	}
	for user, role := range wantUsers {
		if users[user] != role {
			t.Errorf("user %s: default role %q, want %s", user, users[user], role)
		}
		if !slices.Equal(granted[user], []string{role}) {
			t.Errorf("user %s is granted roles %v, want [%s]", user, granted[user], role)
		}
	}
	if len(users) != len(wantUsers) || len(granted) != len(wantUsers) {
		t.Errorf("users %v granted %v, want %v", users, granted, wantUsers)
	}
}

// Every GRANT says why it exists: a comment above it (or above the run of
// grants it belongs to).
func TestAdminGrantsAreExplained(t *testing.T) {
	for _, name := range []string{"admin/0001_roles.sql", "admin/0002_privacy.sql"} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, strings.TrimSpace(sc.Text()))
		}
		f.Close()
		for i, l := range lines {
			if !strings.HasPrefix(l, "GRANT ") {
				continue
			}
			j := i - 1
			for j >= 0 && (lines[j] == "" || strings.HasPrefix(lines[j], "GRANT ")) {
				j--
			}
			if j < 0 || !strings.HasPrefix(lines[j], "--") {
				t.Errorf("%s:%d: %s has no comment saying why", name, i+1, l)
			}
		}
	}
}

// personalFields reads the event contract (docs/events.md) for the
// payload fields that hold free text (a bound in characters) and the
// birth date, as "type.field".
func personalFields(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile("^### `([a-z_.]+)`")
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\|(.*)$")
	freeText := regexp.MustCompile(`\d+ characters`)
	typ := ""
	var out []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if m := heading.FindStringSubmatch(line); m != nil {
			typ = m[1]
			continue
		}
		if strings.HasPrefix(line, "## ") {
			typ = ""
		}
		if m := row.FindStringSubmatch(line); m != nil && typ != "" && (freeText.MatchString(m[2]) || m[1] == "birth_date") {
			out = append(out, typ+"."+m[1])
		}
	}
	return out
}

func TestAdminMasksEveryPersonalField(t *testing.T) {
	stmts := parseAdmin(t)

	// The contract's personal fields are the ones the redaction knows;
	// a new one fails here until it is masked.
	fields := personalFields(t)
	want := []string{"family.upserted.name", "member.upserted.display_name", "member.upserted.birth_date", "trip.upserted.name"}
	if !slices.Equal(fields, want) {
		t.Fatalf("personal fields in docs/events.md = %v, want %v: mask the new ones in admin/0002_privacy.sql", fields, want)
	}
	fns := byForm(stmts, "function")
	if len(fns) != 1 {
		t.Fatalf("%d redaction functions", len(fns))
	}
	body := fns[0].m[2]
	// The branch of the CASE on the type that handles each type.
	branch := func(typ string) string {
		_, after, ok := strings.Cut(body, "WHEN '"+typ+"' THEN ")
		if !ok {
			t.Errorf("the redaction does not handle %s", typ)
			return ""
		}
		end := len(after)
		for _, stop := range []string{" WHEN '", " ELSE "} {
			if i := strings.Index(after, stop); i >= 0 && i < end {
				end = i
			}
		}
		return after[:end]
	}
	replaced := func(field string) string { return "'" + field + "', 'redacted'::VARIANT, TRUE)" }
	deleted := func(field string) string { return ", '" + field + "')" }
	if !strings.Contains(body, "OBJECT_INSERT(E::OBJECT, "+replaced("origin")) {
		t.Error("the device's name (origin) is not replaced")
	}
	if b := branch("family.upserted"); !strings.Contains(b, replaced("name")) {
		t.Errorf("family.upserted: name not replaced: %s", b)
	}
	if b := branch("trip.upserted"); !strings.HasPrefix(b, "OBJECT_DELETE(") || !strings.Contains(b, deleted("name")) {
		t.Errorf("trip.upserted: name not removed: %s", b)
	}
	member := branch("member.upserted")
	keep, drop, ok := strings.Cut(strings.TrimPrefix(member, "IFF(KEEP_BIRTH_DATE, "), ", OBJECT_DELETE(")
	if !ok || !strings.Contains(keep, replaced("display_name")) || strings.Contains(keep, "birth_date") ||
		!strings.Contains(drop, replaced("display_name")) || !strings.Contains(drop, deleted("birth_date")) {
		t.Errorf("member.upserted: want display_name replaced always and birth_date removed unless kept: %s", member)
	}

	// Both payload columns of RAW_EVENTS have a policy, and each policy
	// hides the fields from every role that does not need them.
	masked := map[string]string{}
	for _, s := range byForm(stmts, "set masking policy") {
		if s.m[1] != "RAW_EVENTS" {
			t.Errorf("policy on %s.%s: only RAW_EVENTS holds personal fields", s.m[1], s.m[2])
		}
		masked[s.m[2]] = s.m[3]
	}
	if len(masked) != 2 || masked["PAYLOAD"] == "" || masked["PAYLOAD_TEXT"] == "" {
		t.Fatalf("masked columns: %v, want PAYLOAD and PAYLOAD_TEXT", masked)
	}
	created := map[string]bool{}
	for _, s := range byForm(stmts, "create policy") {
		created[s.m[1]] = true
	}
	bodies := map[string]string{}
	for _, s := range byForm(stmts, "policy body") {
		bodies[s.m[1]] = s.m[2]
	}
	for col, policy := range masked {
		if !created[policy] || bodies[policy] == "" {
			t.Errorf("%s: policy %s is not made with a body", col, policy)
			continue
		}
		for role, want := range wantSees {
			if got := sees(t, bodies[policy], role); got != want {
				t.Errorf("%s (%s): role %s reads %q, want %q", col, policy, role, got, want)
			}
		}
	}
}

// sees evaluates a policy's CASE for a session whose only role is role:
// the first WHEN naming it, or the ELSE.
func sees(t *testing.T, body, role string) string {
	t.Helper()
	rest, elseExpr, ok := strings.Cut(body, " ELSE ")
	if !ok {
		t.Errorf("policy without ELSE: %s", body)
		return ""
	}
	expr := elseExpr
	for arm := range strings.SplitSeq(strings.TrimPrefix(rest, "WHEN "), " WHEN ") {
		cond, then, ok := strings.Cut(arm, " THEN ")
		if !ok {
			t.Errorf("policy arm without THEN: %s", arm)
			return ""
		}
		for c := range strings.SplitSeq(cond, " OR ") {
			if !regexp.MustCompile(`^IS_ROLE_IN_SESSION\('ZONER_\w+'\)$`).MatchString(c) {
				t.Errorf("policy condition %q: want IS_ROLE_IN_SESSION of a Zoner role", c)
			}
		}
		if strings.Contains(cond, "IS_ROLE_IN_SESSION('"+role+"')") {
			expr = then
			break
		}
	}
	switch {
	case expr == "VAL":
		return seesAll
	case strings.Contains(expr, "ZONER_REDACT_EVENT(") && strings.HasSuffix(expr, ", TRUE))") || strings.HasSuffix(expr, ", TRUE)"):
		return seesBirthDate
	case strings.Contains(expr, "ZONER_REDACT_EVENT(") && (strings.HasSuffix(expr, ", FALSE))") || strings.HasSuffix(expr, ", FALSE)")):
		return seesNothing
	}
	t.Errorf("policy expression %q of no known kind", expr)
	return ""
}

// The analysts' views name no family, member or trip: ids only as keyed
// hashes, ages only as bands; and no table holds a birth date or a name.
func TestAdminAnalystViewsArePseudonymous(t *testing.T) {
	stmts := parseAdmin(t)
	views := byForm(stmts, "secure view")
	tables := map[string]string{}
	for _, v := range views {
		tables[v.m[1]] = v.m[3]
	}
	want := map[string]string{"ANALYST_DAILY_METRICS": "MEMBER_DAILY_METRICS", "ANALYST_TRIP_OUTCOMES": "TRIP_OUTCOMES", "ANALYST_MEMBER_CLOCKS": "MEMBER_CLOCKS"}
	if len(tables) != len(want) {
		t.Errorf("views %v, want %v", tables, want)
	}
	for view, table := range want {
		if tables[view] != table {
			t.Errorf("view %s over %q, want %s", view, tables[view], table)
		}
	}
	hashed := regexp.MustCompile(`^(?:IFF\(\w\.(\w+) IS NULL, NULL, )?SHA2\(K\.SECRET \|\| '\|' \|\| \w\.(MEMBER|TRIP), 256\)\)? AS (MEMBER|TRIP)_PSEUDONYM$`)
	plain := regexp.MustCompile(`^\w\.(\w+)$`)
	for _, v := range views {
		cols := splitColumns(v.m[2])
		pseudonyms, bands := 0, 0
		for _, c := range cols {
			if m := hashed.FindStringSubmatch(c); m != nil {
				if m[2] != m[3] || (m[1] != "" && m[1] != m[2]) {
					t.Errorf("%s: %s hashes one id into another's name", v.m[1], c)
				}
				pseudonyms++
				continue
			}
			m := plain.FindStringSubmatch(c)
			if m == nil {
				t.Errorf("%s: column %q is neither a keyed hash nor a plain column", v.m[1], c)
				continue
			}
			switch m[1] {
			case "FAMILY", "MEMBER", "TRIP", "ID", "SECRET":
				t.Errorf("%s shows %s in the clear", v.m[1], m[1])
			case "AGE_BAND":
				bands++
			}
			if strings.Contains(m[1], "BIRTH") || strings.Contains(m[1], "NAME") {
				t.Errorf("%s shows %s", v.m[1], m[1])
			}
		}
		if pseudonyms == 0 || bands != 1 {
			t.Errorf("%s: %d pseudonyms, %d age bands", v.m[1], pseudonyms, bands)
		}
	}

	// No table of the schema has a column for a birth date or a name:
	// they live in RAW_EVENTS' payloads only, masked.
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	column := regexp.MustCompile(`(?m)^\s*(?:ALTER TABLE \w+ ADD COLUMN IF NOT EXISTS )?([A-Z_]+)\s+(?:VARCHAR|NUMBER|FLOAT|DATE|TIMESTAMP_NTZ|VARIANT)`)
	n := 0
	for _, m := range ms {
		for _, q := range m.statements {
			for _, c := range column.FindAllStringSubmatch(q, -1) {
				n++
				if strings.Contains(c[1], "BIRTH") || strings.Contains(c[1], "NAME") || c[1] == "ORIGIN" {
					t.Errorf("migration %s: column %s holds personal data outside the payload", m.name, c[1])
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("read %d columns from the migrations: the pattern misses some", n)
	}
}

// splitColumns splits a select list at its top-level commas.
func splitColumns(list string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range list {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(list[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(list[start:]))
}

// Time Travel is set explicitly on the schema and on every table, to
// retentionDays.
func TestAdminRetention(t *testing.T) {
	stmts := parseAdmin(t)
	set := map[string]string{}
	for _, s := range byForm(stmts, "retention") {
		set[s.m[1]+" "+s.m[2]] = s.m[3]
	}
	want := []string{"SCHEMA DB.SCH", "TABLE RAW_EVENTS", "TABLE MEMBER_DAILY_METRICS", "TABLE TRIP_OUTCOMES", "TABLE MEMBER_CLOCKS", "TABLE PSEUDONYM_KEY"}
	for _, w := range want {
		if set[w] != retentionDays {
			t.Errorf("%s: DATA_RETENTION_TIME_IN_DAYS = %q, want %s", w, set[w], retentionDays)
		}
	}
	if len(set) != len(want) {
		t.Errorf("retention set on %v, want %v", set, want)
	}
}
