package release

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"

	"github.com/inferencepool-operator/inferencepool-operator/hack/helmchart/chartgen"
	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
	"github.com/inferencepool-operator/inferencepool-operator/test/installtest"
)

const workflowPath = ".github/workflows/release.yaml"

// workflow is the part of a GitHub Actions workflow these tests read.
type workflow struct {
	On struct {
		Push struct {
			Tags     []string `yaml:"tags"`
			Branches []string `yaml:"branches"`
		} `yaml:"push"`
	} `yaml:"on"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Needs any `yaml:"needs"`
		Steps []struct {
			ID   string            `yaml:"id"`
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
			Env  map[string]string `yaml:"env"`
			Run  string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
	// The other top-level keys, to find triggers other than push.
	Raw map[string]any `yaml:"-"`
}

func repoRoot() string { return envtest.RepoRoot() }

func readWorkflow(t *testing.T) (*workflow, map[string]any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), workflowPath))
	if err != nil {
		t.Fatal(err)
	}
	// yaml.v3 reads YAML 1.2, where the key "on" is a string (YAML 1.1 parsers make it true).
	w := &workflow{}
	if err := yaml.Unmarshal(b, w); err != nil {
		t.Fatalf("%s: %v", workflowPath, err)
	}
	raw := map[string]any{}
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return w, raw
}

// TestReleaseWorkflowPassesActionlint: actionlint (the GitHub Actions linter, as a library) finds
// no error: YAML and workflow syntax, expressions and their types, job dependencies and outputs,
// the inputs of well-known actions, and, when shellcheck is installed, the run scripts.
func TestReleaseWorkflowPassesActionlint(t *testing.T) {
	opts := &actionlint.LinterOptions{LogWriter: io.Discard}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	} else {
		t.Log("shellcheck is not installed: the run scripts are not checked")
	}
	l, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFile(filepath.Join(repoRoot(), workflowPath), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", workflowPath, e.Line, e.Column, e.Message, e.Kind)
	}
	// actionlint does find errors, so the check above can fail.
	bad, err := l.Lint("bad.yaml", []byte("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n    - run: echo ${{ github.no_such_context.x }}\n    - uses: actions/checkout\n"), nil)
	if err != nil || len(bad) == 0 {
		t.Errorf("actionlint passed a broken workflow (%v)", err)
	}
}

// TestReleaseRunsOnVersionTagsOnly: pushes of tags v<semver> trigger it; branches, other tags
// and other events do not.
func TestReleaseRunsOnVersionTagsOnly(t *testing.T) {
	w, raw := readWorkflow(t)
	on, _ := raw["on"].(map[string]any)
	if len(on) != 1 || on["push"] == nil || len(w.On.Push.Branches) > 0 {
		t.Errorf("triggers %v, want only push of tags", raw["on"])
	}
	matches := func(tag string) bool {
		for _, p := range w.On.Push.Tags {
			if filterPattern(p).MatchString(tag) {
				return true
			}
		}
		return false
	}
	for _, tag := range []string{"v0.1.0", "v1.2.3", "v10.20.30", "v1.2.3-rc.1"} {
		if !matches(tag) {
			t.Errorf("tag %s does not trigger a release (tags %v)", tag, w.On.Push.Tags)
		}
	}
	for _, tag := range []string{"1.2.3", "v1.2", "latest", "main", "vnext", "release-1.2.3"} {
		if matches(tag) {
			t.Errorf("tag %s triggers a release (tags %v)", tag, w.On.Push.Tags)
		}
	}
}

// filterPattern turns a GitHub Actions branch/tag filter pattern into a regular expression:
// * is any run of characters but /, + repeats the previous character (or class) once or more,
// ? makes it optional, [...] is a class, everything else is literal.
func filterPattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString("[^/]*")
		case '+', '?':
			b.WriteByte(c)
		case '[':
			j := strings.IndexByte(p[i:], ']')
			b.WriteString(p[i : i+j+1])
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func TestFilterPattern(t *testing.T) {
	for p, cases := range map[string]map[string]bool{
		"v[0-9]+.[0-9]+":  {"v1.2": true, "v12.34": true, "v1x2": false, "v.2": false},
		"v*":              {"v": true, "v1.2.3": true, "v1/2": false, "x": false},
		"rel-?[a-c]":      {"rel-a": true, "rela": true, "rel-d": false},
		"v1.2.3-*":        {"v1.2.3-rc.1": true, "v1.2.3": false},
		"release/v[0-9]+": {"release/v2": true, "release/v": false},
	} {
		for s, want := range cases {
			if got := filterPattern(p).MatchString(s); got != want {
				t.Errorf("pattern %q on %q: %v, want %v", p, s, got, want)
			}
		}
	}
}

var (
	makeTarget  = regexp.MustCompile(`(?m)^([A-Za-z0-9_.-]+):`)
	makeCommand = regexp.MustCompile(`(?:^|[;&|(]\s*)make((?:[ \t]+[A-Za-z0-9_.-]+(?:=\S*)?)+)`)
)

// makeCommands returns the arguments of every make command in a shell script, comments left out.
func makeCommands(script string) []string {
	var out []string
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, m := range makeCommand.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

func TestMakeCommands(t *testing.T) {
	got := makeCommands("# make helm regenerated\nmake a b=1 c\ncd x && make d\necho make e\n  make f")
	if strings.Join(got, "|") != " a b=1 c| d| f" {
		t.Errorf("make commands %q", got)
	}
}

// TestReleaseUsesWhatExists: every `make` target the workflow runs is a target of the Makefile,
// every file it builds from exists, and the actions it uses are pinned to a major version.
func TestReleaseUsesWhatExists(t *testing.T) {
	w, _ := readWorkflow(t)
	mk, err := os.ReadFile(filepath.Join(repoRoot(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range makeTarget.FindAllStringSubmatch(string(mk), -1) {
		targets[m[1]] = true
	}
	ran := map[string]bool{}
	for name, job := range w.Jobs {
		for _, s := range job.Steps {
			for _, m := range makeCommands(s.Run) {
				for _, word := range strings.Fields(m) {
					if strings.Contains(word, "=") {
						continue // a variable
					}
					ran[word] = true
					if !targets[word] {
						t.Errorf("job %s runs make %s; the Makefile has no such target", name, word)
					}
				}
			}
			if s.Uses != "" && !regexp.MustCompile(`^[\w.-]+/[\w.-]+@v\d+`).MatchString(s.Uses) {
				t.Errorf("job %s uses %q, not pinned to a major version", name, s.Uses)
			}
			for _, key := range []string{"file", "context", "go-version-file"} {
				if f := s.With[key]; f != "" {
					if _, err := os.Stat(filepath.Join(repoRoot(), f)); err != nil {
						t.Errorf("job %s: %s %s: %v", name, key, f, err)
					}
				}
			}
		}
	}
	for _, want := range []string{"helm-package", "bundle", "bundle-build"} {
		if !ran[want] {
			t.Errorf("the workflow never runs make %s", want)
		}
	}
	for _, f := range []string{"Dockerfile", "bundle.Dockerfile", chartgen.ChartDir + "/Chart.yaml"} {
		if _, err := os.Stat(filepath.Join(repoRoot(), f)); err != nil {
			t.Errorf("the release builds from %s: %v", f, err)
		}
	}
}

// TestReleaseBuildsEveryArtifactAtTheTagVersion: the image is built for linux/amd64 and
// linux/arm64 with QEMU and Buildx and tagged v<version>; the chart is packaged and the bundle
// written at <version>; and they publish what the installs deploy: the chart's default image and
// config/manager's image are the image the workflow pushes, helm push goes to the OCI repository
// docs/install.md installs from, with the Helm version the tests use (go.mod).
func TestReleaseBuildsEveryArtifactAtTheTagVersion(t *testing.T) {
	w, _ := readWorkflow(t)
	const version = "${{ needs.version.outputs.version }}"
	uses := map[string]bool{}
	var scripts, imageTags []string
	for name, job := range w.Jobs {
		for _, s := range job.Steps {
			uses[strings.Split(s.Uses, "@")[0]] = true
			if strings.HasPrefix(s.Uses, "docker/build-push-action@") {
				if s.With["platforms"] != "linux/amd64,linux/arm64" || s.With["push"] != "true" {
					t.Errorf("job %s builds for %q (push %q), want linux/amd64,linux/arm64 and push", name, s.With["platforms"], s.With["push"])
				}
				imageTags = append(imageTags, s.With["tags"])
			}
			if s.Run != "" {
				if v := s.Env["VERSION"]; strings.Contains(s.Run, "VERSION") && v != version {
					t.Errorf("job %s step %q uses $VERSION, set to %q, want %s", name, s.ID, v, version)
				}
				scripts = append(scripts, s.Run)
			}
			if strings.HasPrefix(s.Uses, "azure/setup-helm@") && s.With["version"] != helmVersion(t) {
				t.Errorf("job %s installs helm %s; the tests use the SDK at %s (go.mod)", name, s.With["version"], helmVersion(t))
			}
		}
	}
	for _, a := range []string{"docker/setup-qemu-action", "docker/setup-buildx-action", "docker/build-push-action", "azure/setup-helm"} {
		if !uses[a] {
			t.Errorf("the workflow does not use %s", a)
		}
	}
	if len(imageTags) != 1 || imageTags[0] != "${{ env.IMAGE }}:v"+version {
		t.Errorf("image tags %v, want ${{ env.IMAGE }}:v%s", imageTags, version)
	}
	all := strings.Join(scripts, "\n")
	for _, want := range []string{
		`make helm-package VERSION="$VERSION"`,
		`helm push "dist/` + chartgen.ChartName + `-$VERSION.tgz" "$CHART_REPO"`,
		`make bundle VERSION="$VERSION"`,
		`make bundle-build VERSION="$VERSION" BUNDLE_IMG="$BUNDLE_IMAGE:v$VERSION"`,
		`docker push "$BUNDLE_IMAGE:v$VERSION"`,
		"SOURCE_DATE_EPOCH",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no step runs %s", want)
		}
	}

	// What the release publishes is what the installs deploy and docs/install.md installs.
	values, err := os.ReadFile(filepath.Join(repoRoot(), chartgen.ChartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(values), "\n  repository: "+w.Env["IMAGE"]+"\n") {
		t.Errorf("the chart's default image repository is not %s, the image the release pushes", w.Env["IMAGE"])
	}
	manager, err := os.ReadFile(filepath.Join(repoRoot(), "config", "manager", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(manager), "newName: "+w.Env["IMAGE"]+"\n") {
		t.Errorf("config/manager's image is not %s, the image the release pushes", w.Env["IMAGE"])
	}
	install, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "install.md"))
	if err != nil {
		t.Fatal(err)
	}
	if chart := w.Env["CHART_REPO"] + "/" + chartgen.ChartName; !strings.Contains(string(install), chart) {
		t.Errorf("docs/install.md does not install %s, the chart the release pushes", chart)
	}
}

// TestVersionStepDerivesTheVersion runs the workflow's version step as GitHub would (bash, with
// its env and $GITHUB_OUTPUT): v1.2.3 gives 1.2.3, a tag that is not v<semver> fails the release.
func TestVersionStepDerivesTheVersion(t *testing.T) {
	w, _ := readWorkflow(t)
	var script string
	for _, s := range w.Jobs["version"].Steps {
		if s.ID == "version" {
			script = s.Run
		}
	}
	if script == "" {
		t.Fatal("no step with id version in job version")
	}
	run := func(tag string) (string, error) {
		out := filepath.Join(t.TempDir(), "output")
		cmd := exec.Command("bash", "-e", "-c", script)
		cmd.Env = append(os.Environ(), "TAG="+tag, "GITHUB_OUTPUT="+out)
		if b, err := cmd.CombinedOutput(); err != nil {
			return string(b), err
		}
		b, err := os.ReadFile(out)
		return string(b), err
	}
	for tag, want := range map[string]string{"v1.2.3": "version=1.2.3\n", "v0.1.0-rc.1": "version=0.1.0-rc.1\n"} {
		if got, err := run(tag); err != nil || got != want {
			t.Errorf("tag %s: output %q (%v), want %q", tag, got, err, want)
		}
	}
	for _, tag := range []string{"1.2.3", "v1.2", "vfoo", "v1.2.3 "} {
		if got, err := run(tag); err == nil {
			t.Errorf("tag %q gave %q, want a failure", tag, got)
		}
	}
}

// helmVersion is the Helm SDK version go.mod pins.
func helmVersion(t *testing.T) string {
	t.Helper()
	return installtest.RequiredVersion(t, "go.mod", "helm.sh/helm/v4")
}
