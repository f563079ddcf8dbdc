package zoner_test

import (
	"encoding/json"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goPackages returns every directory of the module that holds a Go
// package, with the files the build would use (integration tests too).
func goPackages(t *testing.T) map[string]*build.Package {
	t.Helper()
	ctx := build.Default
	ctx.BuildTags = append(ctx.BuildTags, "integration")
	pkgs := map[string]*build.Package{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		pkg, err := ctx.ImportDir(path, build.ImportComment)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			t.Errorf("%s: %v", path, err)
			return nil
		}
		pkgs[path] = pkg
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func parseFiles(t *testing.T, dir string, names []string) []*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// Every package says what it is for, in a comment go doc shows.
func TestEveryPackageHasADocComment(t *testing.T) {
	for dir, pkg := range goPackages(t) {
		if len(pkg.GoFiles) == 0 {
			continue // tests only
		}
		var doc string
		for _, f := range parseFiles(t, dir, pkg.GoFiles) {
			if f.Doc != nil {
				doc = f.Doc.Text()
				break
			}
		}
		switch {
		case doc == "":
			t.Errorf("package %s (%s) has no doc comment", pkg.Name, dir)
		case pkg.Name != "main" && !strings.HasPrefix(doc, "Package "+pkg.Name+" "):
			t.Errorf("doc comment of package %s (%s) should start %q", pkg.Name, dir, "Package "+pkg.Name+" ")
		}
	}
}

// No init() side effects: constructors take what they need.
func TestNoInitFunctions(t *testing.T) {
	for dir, pkg := range goPackages(t) {
		for i, f := range parseFiles(t, dir, pkg.GoFiles) {
			for _, decl := range f.Decls {
				if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "init" {
					t.Errorf("%s: func init; wire dependencies in cmd/ instead", filepath.Join(dir, pkg.GoFiles[i]))
				}
			}
		}
	}
}

// go.mod must not replace modules: a clean clone must build from the
// module proxy alone, exactly as released.
func TestGoModHasNoReplace(t *testing.T) {
	out, err := exec.Command("go", "mod", "edit", "-json").Output()
	if err != nil {
		t.Fatalf("go mod edit -json: %v", err)
	}
	var mod struct {
		Replace []struct {
			Old, New struct{ Path, Version string }
		}
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	for _, r := range mod.Replace {
		t.Errorf("go.mod replaces %s with %s %s", r.Old.Path, r.New.Path, r.New.Version)
	}
}

// syncproto is the contract every part links, the browser's JavaScript
// included in spirit: it stays on the standard library, plus the UUID
// library the contract's ids come from.
func TestSyncprotoImportsOnlyStandardLibraryAndUUID(t *testing.T) {
	pkg, ok := goPackages(t)["syncproto"]
	if !ok {
		t.Fatal("no syncproto package")
	}
	for _, imp := range append(pkg.Imports, pkg.TestImports...) {
		first, _, _ := strings.Cut(imp, "/")
		if strings.Contains(first, ".") && imp != "github.com/google/uuid" {
			t.Errorf("syncproto imports %s", imp)
		}
	}
}

// The web package is static files and a handler: it stays on the
// standard library, so the hub links nothing more for its UI.
func TestWebImportsOnlyStandardLibrary(t *testing.T) {
	pkgs := goPackages(t)
	for _, dir := range []string{"web", filepath.Join("web", "internal", "genairports")} {
		pkg, ok := pkgs[dir]
		if !ok {
			t.Fatalf("no package in %s", dir)
		}
		for _, imp := range append(pkg.Imports, pkg.TestImports...) {
			if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s", dir, imp)
			}
		}
	}
}

// TestCircadianIsPure keeps the science free of I/O and of the clock: the
// same inputs must give the same plan on a hub and in the cloud. Besides
// the standard library it may use the UUID library, the sync contract, and
// package airports, which is held to the same rules (TestAirportsIsPure):
// its table is compiled in with go:embed, so looking up an airport reads
// no disk at run time and gives the same answer everywhere.
func TestCircadianIsPure(t *testing.T) {
	checkPure(t, "circadian", "github.com/google/uuid", "github.com/zoner-family/zoner/syncproto",
		"github.com/zoner-family/zoner/airports")
}

// TestFamilyIsPure: the fold of a family's events is the same on a hub
// and in the cloud only if it does no I/O and never reads the clock; its
// stores are behind an interface.
func TestFamilyIsPure(t *testing.T) {
	checkPure(t, "family", "github.com/google/uuid", "github.com/zoner-family/zoner/syncproto",
		"github.com/zoner-family/zoner/circadian")
}

// TestImporterIsPure: hub/importer reads only the reader it is given; the
// hub decides where files come from and where events go.
func TestImporterIsPure(t *testing.T) {
	checkPure(t, "hub/importer", "github.com/google/uuid", "github.com/zoner-family/zoner/syncproto")
}

// The hub and the cloud fold a family's events with package family, and
// neither keeps a fold of its own.
func TestHubAndCloudFoldWithFamily(t *testing.T) {
	for _, program := range []string{"./hub/cmd/zoner-hub", "./cloud/cmd/zoner-cloud"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", program).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Fields(string(out)), "github.com/zoner-family/zoner/family") {
			t.Errorf("%s does not import package family", program)
		}
	}
}

// TestAirportsIsPure: package airports, which the planner may use, is as
// pure as the planner: standard library only, no I/O, no clock.
func TestAirportsIsPure(t *testing.T) {
	checkPure(t, "airports")
}

// checkPure fails if the package in dir imports I/O (os, io/fs, net, ...),
// a module outside the standard library other than those allowed, or reads
// the clock.
func checkPure(t *testing.T, dir string, allowed ...string) {
	t.Helper()
	pkg, ok := goPackages(t)[dir]
	if !ok {
		t.Fatalf("no %s package", dir)
	}
	for _, imp := range pkg.Imports {
		switch {
		case imp == "os", imp == "io/fs", imp == "os/exec", imp == "syscall", imp == "io/ioutil",
			imp == "net" || strings.HasPrefix(imp, "net/"):
			t.Errorf("%s imports %s", dir, imp)
		case strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !slices.Contains(allowed, imp):
			t.Errorf("%s imports %s", dir, imp)
		}
	}
	fset := token.NewFileSet()
	for _, name := range pkg.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(pkg.Dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Until") {
				t.Errorf("%s: %s reads the clock (time.%s)", fset.Position(sel.Pos()), dir, sel.Sel.Name)
			}
			return true
		})
	}
}

// The hub runs on a family's device: it must not link the cloud's Kafka,
// Snowflake or Redis clients, whatever the target.
func TestHubBinaryLinksNoCloudClients(t *testing.T) {
	forbidden := []string{"github.com/twmb/franz-go", "github.com/snowflakedb/gosnowflake", "github.com/redis/go-redis"}
	for _, target := range [][2]string{{"linux", "amd64"}, {"linux", "arm64"}} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./hub/cmd/zoner-hub")
		cmd.Env = append(cmd.Environ(), "GOOS="+target[0], "GOARCH="+target[1], "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list for %s/%s: %v", target[0], target[1], err)
		}
		deps := strings.Fields(string(out))
		// The list is the real one: it holds what the hub is built on.
		if !slices.Contains(deps, "github.com/nats-io/nats-server/v2/server") || !slices.Contains(deps, "modernc.org/sqlite") {
			t.Fatalf("%s/%s: the dependency list lacks the hub's own building blocks:\n%s", target[0], target[1], out)
		}
		for _, d := range deps {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s/%s: the hub binary links %s", target[0], target[1], d)
				}
			}
		}
	}
}

// Each hub subpackage implements the hub's interfaces against one
// dependency; they do not import each other (cmd/ wires them). The one
// exception is hub/ics, a pure formatter with no dependency of its own,
// which the HTTP layer uses to write calendar feeds.
func TestHubSubpackagesDoNotImportEachOther(t *testing.T) {
	subpackagesApart(t, "hub", "ics")
}

// The bridge is only the forwarder to Kafka: it keeps its domain (the
// forwarder, Source and Sink) free of NATS and Kafka, and its subpackages
// apart: cmd/ wires them.
func TestBridgeSubpackagesDoNotImportEachOther(t *testing.T) {
	subpackagesApart(t, "bridge")
	pkg, ok := goPackages(t)["bridge"]
	if !ok {
		t.Fatal("no bridge package")
	}
	for _, imp := range pkg.Imports {
		if strings.Contains(imp, "nats-io") || strings.Contains(imp, "franz-go") {
			t.Errorf("bridge imports %s", imp)
		}
	}
}

// The cloud's edge keeps its domain (the families' admission rule and
// subjects) free of NATS, and its subpackages apart: cmd/ wires them.
func TestEdgeSubpackagesDoNotImportEachOther(t *testing.T) {
	subpackagesApart(t, "edge")
	pkg, ok := goPackages(t)["edge"]
	if !ok {
		t.Fatal("no edge package")
	}
	for _, imp := range pkg.Imports {
		if strings.Contains(imp, "nats-io") {
			t.Errorf("edge imports %s", imp)
		}
	}
}

// The hub, the cloud's edge, the bridge and the cloud meet only in
// syncproto and in their programs: outside cmd/, no package of one area
// imports a package of another.
func TestAreasDoNotImportEachOther(t *testing.T) {
	areas := []string{"hub", "edge", "bridge", "cloud"}
	areaOf := func(path string) string {
		first, _, _ := strings.Cut(path, "/")
		if slices.Contains(areas, first) {
			return first
		}
		return ""
	}
	for dir, pkg := range goPackages(t) {
		area := areaOf(filepath.ToSlash(dir))
		if area == "" || strings.HasPrefix(filepath.ToSlash(dir), area+"/cmd") {
			continue
		}
		for _, imp := range pkg.Imports {
			rest, ok := strings.CutPrefix(imp, "github.com/zoner-family/zoner/")
			if other := areaOf(rest); ok && other != "" && other != area {
				t.Errorf("%s imports %s", dir, imp)
			}
		}
	}
}

// No program links two of the module's packages of one name: whoever
// reads its wiring never has to ask which natsjs or which kafka is meant.
func TestNoProgramLinksTwoPackagesOfOneName(t *testing.T) {
	for _, program := range []string{"./hub/cmd/zoner-hub", "./bridge/cmd/zoner-bridge", "./cloud/cmd/zoner-cloud"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Name}}", program).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", program, err)
		}
		byName := map[string][]string{}
		for line := range strings.Lines(string(out)) {
			path, name, _ := strings.Cut(strings.TrimSpace(line), " ")
			if strings.HasPrefix(path, "github.com/zoner-family/zoner/") && name != "main" {
				byName[name] = append(byName[name], path)
			}
		}
		if len(byName) == 0 {
			t.Fatalf("%s: no package of the module in its dependency list:\n%s", program, out)
		}
		for name, paths := range byName {
			if len(paths) > 1 {
				t.Errorf("%s links %d packages named %s: %s", program, len(paths), name, strings.Join(paths, ", "))
			}
		}
	}
}

// The cloud keeps its domain (ingest, the recommender, metrics, the API's
// service) free of its dependencies' clients, and its subpackages apart:
// cmd/ wires them.
func TestCloudSubpackagesDoNotImportEachOther(t *testing.T) {
	subpackagesApart(t, "cloud")
	pkg, ok := goPackages(t)["cloud"]
	if !ok {
		t.Fatal("no cloud package")
	}
	for _, imp := range pkg.Imports {
		for _, client := range []string{"nats-io", "franz-go", "gosnowflake", "go-redis", "modernc.org/sqlite", "net/http"} {
			if strings.Contains(imp, client) {
				t.Errorf("cloud imports %s", imp)
			}
		}
	}
}

// subpackagesApart checks that area's subpackages (outside cmd/) import no
// other subpackage of it, except those named in allowed.
func subpackagesApart(t *testing.T, area string, allowed ...string) {
	t.Helper()
	root := "github.com/zoner-family/zoner/" + area + "/"
	for dir, pkg := range goPackages(t) {
		if !strings.HasPrefix(dir, area+"/") || strings.HasPrefix(dir, area+"/cmd") {
			continue
		}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, root) && !slices.Contains(allowed, strings.TrimPrefix(imp, root)) {
				t.Errorf("%s imports %s", dir, imp)
			}
		}
	}
}
