package compose

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/zoner-family/zoner/internal/proctest"
)

// env is what secrets.sh writes to .env.
var env = []string{"ZONER_SERVICE_PASSWORD=s", "ZONER_AUTH_PASSWORD=a", "ZONER_CALLOUT_ISSUER=AISSUER"}

func load(t *testing.T, env []string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"}, cli.WithWorkingDirectory("."), cli.WithEnv(env),
		cli.WithDiscardEnvFile)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// The file loads with the Compose specification's loader (its JSON schema
// rejects unknown keys; references to secrets, volumes and services must
// resolve), and every Zoner service is configured with flags its program
// knows.
func TestCompose(t *testing.T) {
	p, err := load(t, env)
	if err != nil {
		t.Fatalf("load compose.yaml: %v", err)
	}
	want := []string{"api", "bridge", "callout", "ingest", "kafka", "migrate", "nats", "recommender", "redis"}
	if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}

	script, err := os.ReadFile("secrets.sh")
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range p.Secrets {
		if !strings.Contains(string(script), strings.TrimPrefix(s.File, p.WorkingDir+"/secrets/")) {
			t.Errorf("secret %s (%s) is not made by secrets.sh", name, s.File)
		}
	}

	programs := map[string]string{
		"zoner-cloud":  proctest.Build(t, "github.com/zoner-family/zoner/cloud/cmd/zoner-cloud"),
		"zoner-bridge": proctest.Build(t, "github.com/zoner-family/zoner/bridge/cmd/zoner-bridge"),
	}
	tagged := regexp.MustCompile(`^[^:@]+(:[0-9][0-9A-Za-z._-]*-?[A-Za-z]*|@sha256:[0-9a-f]{64})$`)
	for name, s := range p.Services {
		t.Run(name, func(t *testing.T) {
			program := ""
			for prog := range programs {
				if strings.HasSuffix(strings.Split(s.Image, ":")[0], "/"+prog) {
					program = prog
				}
			}
			if program == "" {
				// A third party's image: pinned to a version.
				if !tagged.MatchString(s.Image) {
					t.Errorf("image %q is not pinned to a version", s.Image)
				}
				return
			}
			if s.Image != "ko.local/"+program+":dev" {
				t.Errorf("image %q, want ko.local/%s:dev by default (the names go tool task images gives)", s.Image, program)
			}
			if !s.ReadOnly {
				t.Error("the root file system is writable")
			}
			if len(s.Command) != 1 {
				t.Fatalf("command %q: want the one subcommand", s.Command)
			}
			// The program's help for its command lists every variable it
			// reads; a misspelt one would be ignored silently.
			help, _ := exec.Command(programs[program], s.Command[0], "-h").CombinedOutput()
			if !strings.Contains(string(help), "Usage of "+program+" "+s.Command[0]) {
				t.Fatalf("%s has no command %q:\n%s", program, s.Command[0], help)
			}
			for k, v := range s.Environment {
				if !regexp.MustCompile(`(^|[^A-Z_])` + k + `([^A-Z_]|$)`).Match(help) {
					t.Errorf("%s %s reads no %s", program, s.Command[0], k)
				}
				if strings.HasPrefix(*v, "/run/secrets/") && !slices.ContainsFunc(s.Secrets, func(r types.ServiceSecretConfig) bool {
					return "/run/secrets/"+r.Source == *v
				}) {
					t.Errorf("%s=%s: the service is not given that secret", k, *v)
				}
			}
		})
	}
}

// Without the values secrets.sh makes, compose refuses to start and says
// what to run.
func TestComposeNeedsTheSecrets(t *testing.T) {
	_, err := load(t, nil)
	if err == nil || !strings.Contains(err.Error(), "run deploy/compose/secrets.sh first") {
		t.Fatalf("load without .env: %v", err)
	}
}

// The loader validates against the Compose schema: a misspelt key fails.
func TestComposeRejectsUnknownKeys(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), "    command: [\"api\"]\n", "    command: [\"api\"]\n    helthcheck: {}\n", 1)
	if bad == string(b) {
		t.Fatal("the api service's command line is not where the test expects it")
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/compose.yaml", []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{dir + "/compose.yaml"}, cli.WithWorkingDirectory(dir), cli.WithEnv(env),
		cli.WithDiscardEnvFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opts.LoadProject(context.Background()); err == nil || !strings.Contains(err.Error(), "helthcheck") {
		t.Fatalf("load with a misspelt key: %v", err)
	}
}
