package snowflake

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"

	sf "github.com/snowflakedb/gosnowflake"
)

// The roles the administration scripts (admin/*.sql) make. Each cloud
// service connects as its own service user with its own role (Config.Role,
// -snowflake-role); ServiceRole names it.
const (
	// RoleIngest writes RAW_EVENTS and merges the metrics tables; it sees
	// event payloads without names.
	RoleIngest = "ZONER_INGEST"
	// RoleRecommender reads RAW_EVENTS only, in full: the advice and
	// reminders it makes for a family's devices name its members.
	RoleRecommender = "ZONER_RECOMMENDER"
	// RoleAPI reads the events in full (a family's own devices show its
	// names) and the metrics tables.
	RoleAPI = "ZONER_API"
	// RoleAnalyst reads the pseudonymous analyst views and no table.
	RoleAnalyst = "ZONER_ANALYST"
	// RoleAdmin owns every object and the pseudonymisation key, and runs
	// migrate -admin.
	RoleAdmin = "ZONER_ADMIN"
)

// ServiceRole is the role the zoner-cloud command connects with: ingest,
// recommender or api; "" for another command (all runs every service in
// one process, and so needs a role holding the three).
func ServiceRole(command string) string {
	switch command {
	case "ingest":
		return RoleIngest
	case "recommender":
		return RoleRecommender
	case "api":
		return RoleAPI
	}
	return ""
}

//go:embed admin/*.sql
var adminFiles embed.FS

// adminScript is one administration file, its placeholders filled in.
type adminScript struct {
	name       string
	statements []string
}

// adminScripts returns the administration files in order, with
// {{DATABASE}}, {{SCHEMA}} and {{WAREHOUSE}} replaced by the given
// identifiers, which must be plain ones (they are put into DDL).
func adminScripts(database, schema, warehouse string) ([]adminScript, error) {
	vars := map[string]string{"DATABASE": database, "SCHEMA": schema, "WAREHOUSE": warehouse}
	for name, v := range vars {
		if !validIdent(v) {
			return nil, fmt.Errorf("administer: %s %q: want a plain identifier (letters, digits, _ and $)", strings.ToLower(name), v)
		}
	}
	names, err := fs.Glob(adminFiles, "admin/*.sql")
	if err != nil {
		return nil, err
	}
	var out []adminScript
	for _, name := range names { // Glob sorts
		body, err := adminFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		text := string(body)
		for k, v := range vars {
			text = strings.ReplaceAll(text, "{{"+k+"}}", v)
		}
		if i := strings.Index(text, "{{"); i >= 0 {
			return nil, fmt.Errorf("administer: %s: unknown placeholder at %q", path.Base(name), text[i:min(len(text), i+20)])
		}
		out = append(out, adminScript{name: path.Base(name), statements: splitStatements(text)})
	}
	if len(out) != 2 {
		return nil, fmt.Errorf("administer: %d scripts, want 2 (roles, then privacy)", len(out))
	}
	return out, nil
}

// Administer sets the warehouse up for least privilege, as its
// administrator (cfg's user with role ZONER_ADMIN, which an account
// administrator made once; docs/privacy.md): admin/0001_roles.sql (roles,
// service users, the database, schema and virtual warehouse, and their
// USAGE grants), then the schema's migrations, then admin/0002_privacy.sql
// (table grants, masking policies, the analyst views, Time Travel). Every
// statement is idempotent, so it runs whole every time. cfg.Warehouse must
// be set: the script makes it and grants its use.
func Administer(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	scripts, err := adminScripts(cfg.Database, cfg.Schema, cfg.Warehouse)
	if err != nil {
		return err
	}
	boot, err := cfg.sfConfig(true)
	if err != nil {
		return fmt.Errorf("administer: %w", err)
	}
	db := sql.OpenDB(sf.NewConnector(sf.SnowflakeDriver{}, *boot))
	err = runScript(ctx, db, scripts[0], logger)
	db.Close()
	if err != nil {
		return err
	}
	cfg.CreateDatabase = false // 0001 made them
	w, err := Open(ctx, cfg, logger)
	if err != nil {
		return fmt.Errorf("administer: %w", err)
	}
	defer w.Close()
	return runScript(ctx, w.db, scripts[1], logger)
}

// runScript runs a script's statements in order, stopping at the first
// that fails.
func runScript(ctx context.Context, db *sql.DB, s adminScript, logger *slog.Logger) error {
	for i, q := range s.statements {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("administer: %s statement %d (%s): %w", s.name, i+1, firstLine(q), err)
		}
	}
	logger.Info("warehouse administration applied", "script", s.name, "statements", len(s.statements))
	return nil
}

// firstLine is a statement's first line, to name it in an error.
func firstLine(q string) string {
	line, _, _ := strings.Cut(q, "\n")
	return line
}
