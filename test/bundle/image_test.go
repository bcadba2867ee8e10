package bundle

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

// dockerfileStages reads the Dockerfile into its stages' instructions (continuation lines joined).
func dockerfileStages(t *testing.T) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages [][]string
	var cur string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line = cur + line
		cur = ""
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %q before the first FROM", line)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], line)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// TestImageIsStaticAndNonRoot: the final image is distroless/static running as a numeric non-root
// user (the Deployment's runAsNonRoot needs a numeric USER), and the manager builds, the way the
// Dockerfile builds it, into a binary with no dynamic loader or shared libraries.
func TestImageIsStaticAndNonRoot(t *testing.T) {
	stages := dockerfileStages(t)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a runtime stage", len(stages))
	}
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final[0], "FROM gcr.io/distroless/static") || !strings.Contains(final[0], "nonroot") {
		t.Errorf("runtime stage is %q, want distroless/static:nonroot", final[0])
	}
	user := ""
	for _, in := range final {
		if u, ok := strings.CutPrefix(in, "USER "); ok {
			user = u
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
		t.Errorf("runtime stage USER %q, want a numeric non-root uid", user)
	}
	build := ""
	for _, in := range stages[0] {
		if strings.HasPrefix(in, "RUN ") && strings.Contains(in, "go build") {
			build = in
		}
	}
	if !strings.Contains(build, "CGO_ENABLED=0") || !strings.Contains(build, "./cmd") {
		t.Fatalf("build stage's go build %q does not build ./cmd with CGO_ENABLED=0", build)
	}

	bin, err := elf.Open(installtest.BuildManager(t))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	for _, p := range bin.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the manager binary asks for a dynamic loader; distroless/static has none")
		}
	}
	if libs, _ := bin.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the manager binary links shared libraries %v", libs)
	}
}

// TestDeploymentArgsAreManagerFlags runs the manager with the Deployment's command-line arguments
// (config/default's and the CSV's) followed by --help: Go's flag package exits 0 only if every
// argument before --help is a flag the manager defines, and 2 on the first unknown one.
func TestDeploymentArgsAreManagerFlags(t *testing.T) {
	sets := map[string][]string{}
	for _, u := range render(t, "config/default") {
		if u.GetKind() == "Deployment" {
			d := &appsv1.Deployment{}
			mustConvert(t, u, d)
			for _, c := range d.Spec.Template.Spec.Containers {
				sets["config/default container "+c.Name] = c.Args
			}
		}
	}
	for _, d := range committedCSV(t).Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		for _, c := range d.Spec.Template.Spec.Containers {
			sets["CSV container "+c.Name] = c.Args
		}
	}
	if len(sets) < 2 {
		t.Fatalf("found %d containers", len(sets))
	}
	installtest.CheckArgsAreManagerFlags(t, sets)
}

// TestImageBuildContextHasTheManagerSources: every package of this module that the manager
// imports is copied by the Dockerfile and let through by .dockerignore, so a new package under a
// new top-level directory cannot break the image build unnoticed.
func TestImageBuildContextHasTheManagerSources(t *testing.T) {
	copied := map[string]bool{}
	for _, in := range dockerfileStages(t)[0] {
		if args, ok := strings.CutPrefix(in, "COPY "); ok && !strings.HasPrefix(args, "--from") {
			f := strings.Fields(args)
			for _, src := range f[:len(f)-1] {
				copied[strings.TrimSuffix(src, "/")] = true
			}
		}
	}
	ignore, err := os.ReadFile(filepath.Join(repoRoot(), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(ignore), "\n")
	allowed := map[string]bool{}
	if !containsLine(lines, "*") {
		t.Fatal(".dockerignore does not start from excluding everything (*)")
	}
	for _, l := range lines {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "!"); ok {
			allowed[strings.TrimSuffix(p, "/")] = true
		}
	}
	for _, f := range []string{"go.mod", "go.sum", "bundle"} {
		if !allowed[f] {
			t.Errorf(".dockerignore excludes %s, which an image build needs", f)
		}
	}

	mod := modulePath(t)
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./cmd")
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd: %v", err)
	}
	n := 0
	for _, pkg := range strings.Fields(string(b)) {
		rel, ok := strings.CutPrefix(pkg, mod+"/")
		if !ok {
			continue
		}
		n++
		top, _, _ := strings.Cut(rel, "/")
		if !copied[top] {
			t.Errorf("the manager imports %s, but the Dockerfile does not COPY %s/", pkg, top)
		}
		if !allowed[top] {
			t.Errorf("the manager imports %s, but .dockerignore keeps %s/ out of the build context", pkg, top)
		}
	}
	if n < 3 {
		t.Errorf("go list found only %d packages of %s under ./cmd", n, mod)
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}

func modulePath(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	return modfile.ModulePath(b)
}

// TestKustomizeLibraryMatchesPinnedBinary: the generator and these tests render config/ with the
// kustomize library; `make deploy` uses the kustomize binary built from hack/tools/kustomize. They
// must be the same kustomize, or the tests would vouch for output users never get.
func TestKustomizeLibraryMatchesPinnedBinary(t *testing.T) {
	for _, m := range []string{"sigs.k8s.io/kustomize/api", "sigs.k8s.io/kustomize/kyaml"} {
		lib, bin := installtest.RequiredVersion(t, "go.mod", m), installtest.RequiredVersion(t, "hack/tools/kustomize/go.mod", m)
		if lib != bin {
			t.Errorf("%s: go.mod has %s, hack/tools/kustomize/go.mod (the kustomize binary) has %s", m, lib, bin)
		}
	}
}
