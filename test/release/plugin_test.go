package release

// The kubectl plugin's release: the workflow's plugin job builds ./cmd/kubectl-inferencepool for
// each platform of its matrix and packages it; its plugin-release job checks the checksums,
// renders the krew manifest hack/krew/inferencepool.yaml and attaches everything to the GitHub
// release. These tests run those two steps' scripts as GitHub would (bash, with the steps' env),
// with a stand-in for go (it records how it is called and writes a fake binary) and for git, and
// check what they produce against the krew manifest.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	k8sversion "k8s.io/apimachinery/pkg/util/version"
)

const (
	krewManifestPath = "hack/krew/inferencepool.yaml"
	krewAPIVersion   = "krew.googlecontainertools.github.com/v1alpha2"
	pluginName       = "inferencepool"
	pluginBin        = "kubectl-inferencepool"
	pluginPackage    = "./cmd/kubectl-inferencepool"
	pluginHomepage   = "https://github.com/inferencepool-operator/inferencepool-operator"
	releaseDownload  = pluginHomepage + "/releases/download/"

	// The version the simulated release is at (tag v1.2.3-rc.1), and the tagged commit's time the
	// git stand-in gives.
	testVersion = "1.2.3-rc.1"
	testEpoch   = 1700000000
)

// pluginPlatforms are the platforms the plugin is released for, sorted.
var pluginPlatforms = []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64"}

// archiveName is the archive of a platform's plugin: kubectl-inferencepool_<version>_<os>_<arch>.tar.gz.
func archiveName(version, goos, goarch string) string {
	return fmt.Sprintf("%s_%s_%s_%s.tar.gz", pluginBin, version, goos, goarch)
}

// pluginWorkflow is the part of the release workflow the plugin tests read (the matrix and the
// permissions, which the workflow struct leaves out).
type pluginWorkflow struct {
	Jobs map[string]*pluginJob `yaml:"jobs"`
}

type pluginJob struct {
	If          string            `yaml:"if"`
	Needs       any               `yaml:"needs"`
	Permissions map[string]string `yaml:"permissions"`
	Strategy    struct {
		Matrix map[string]any `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []pluginStep `yaml:"steps"`
}

type pluginStep struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

func (j *pluginJob) needs() []string {
	switch n := j.Needs.(type) {
	case string:
		return []string{n}
	case []any:
		var out []string
		for _, x := range n {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

// step returns the job's one step that uses the action (owner/name, any version).
func (j *pluginJob) step(t *testing.T, job, action string) pluginStep {
	t.Helper()
	var found []pluginStep
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, action+"@") {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("job %s uses %s in %d steps, want 1", job, action, len(found))
	}
	return found[0]
}

// pluginRelease is where the workflow builds and publishes the plugin.
type pluginRelease struct {
	buildJobName, releaseJobName string
	buildJob, releaseJob         *pluginJob
	// The step that builds and packages the plugin, and the one that renders the krew manifest.
	build, render pluginStep
}

func readPluginRelease(t *testing.T) *pluginRelease {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), workflowPath))
	if err != nil {
		t.Fatal(err)
	}
	w := &pluginWorkflow{}
	if err := yaml.Unmarshal(b, w); err != nil {
		t.Fatalf("%s: %v", workflowPath, err)
	}
	r := &pluginRelease{}
	var builds, renders []string
	for _, name := range slices.Sorted(maps.Keys(w.Jobs)) {
		job := w.Jobs[name]
		for _, s := range job.Steps {
			if regexp.MustCompile(`\bgo build\b`).MatchString(s.Run) && strings.Contains(s.Run, pluginPackage) {
				builds = append(builds, name)
				r.buildJobName, r.buildJob, r.build = name, job, s
			}
			if strings.Contains(s.Run, krewManifestPath) {
				renders = append(renders, name)
				r.releaseJobName, r.releaseJob, r.render = name, job, s
			}
		}
	}
	if len(builds) != 1 {
		t.Fatalf("%d steps (jobs %v) go build %s, want 1: the workflow must build the plugin once, in a matrix", len(builds), builds, pluginPackage)
	}
	if len(renders) != 1 {
		t.Fatalf("%d steps (jobs %v) render %s, want 1", len(renders), renders, krewManifestPath)
	}
	return r
}

// matrix returns the build job's platforms (os/arch, sorted) and combinations.
func (r *pluginRelease) matrix(t *testing.T) ([]string, []map[string]string) {
	t.Helper()
	combos, err := expandMatrix(r.buildJob.Strategy.Matrix)
	if err != nil {
		t.Fatalf("job %s: %v", r.buildJobName, err)
	}
	var platforms []string
	for _, c := range combos {
		if c["goos"] == "" || c["goarch"] == "" {
			t.Fatalf("job %s: matrix combination %v has no goos and goarch", r.buildJobName, c)
		}
		platforms = append(platforms, c["goos"]+"/"+c["goarch"])
	}
	sort.Strings(platforms)
	return platforms, combos
}

// expandMatrix expands a GitHub Actions strategy.matrix into its combinations as GitHub does: the
// product of the lists, less the exclude entries, then each include entry added to every
// combination none of whose original values it changes, or as a combination of its own if there
// is none.
func expandMatrix(m map[string]any) ([]map[string]string, error) {
	entries := func(key string) ([]map[string]string, error) {
		if m[key] == nil {
			return nil, nil
		}
		list, ok := m[key].([]any)
		if !ok {
			return nil, fmt.Errorf("matrix.%s is %T, want a list", key, m[key])
		}
		var out []map[string]string
		for _, x := range list {
			e, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("matrix.%s has %T, want a map", key, x)
			}
			s := map[string]string{}
			for k, v := range e {
				s[k] = fmt.Sprint(v)
			}
			out = append(out, s)
		}
		return out, nil
	}
	var keys []string
	for k := range m {
		if k != "include" && k != "exclude" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var combos []map[string]string
	if len(keys) > 0 {
		combos = []map[string]string{{}}
	}
	for _, k := range keys {
		values, ok := m[k].([]any)
		if !ok {
			return nil, fmt.Errorf("matrix.%s is %T, want a list", k, m[k])
		}
		var next []map[string]string
		for _, c := range combos {
			for _, v := range values {
				n := maps.Clone(c)
				n[k] = fmt.Sprint(v)
				next = append(next, n)
			}
		}
		combos = next
	}
	exclude, err := entries("exclude")
	if err != nil {
		return nil, err
	}
	combos = slices.DeleteFunc(combos, func(c map[string]string) bool {
		for _, e := range exclude {
			if matchesAll(c, e, nil) {
				return true
			}
		}
		return false
	})
	include, err := entries("include")
	if err != nil {
		return nil, err
	}
	original := len(combos)
	for _, e := range include {
		added := false
		for _, c := range combos[:original] {
			if matchesAll(c, e, keys) {
				maps.Copy(c, e)
				added = true
			}
		}
		if !added {
			combos = append(combos, maps.Clone(e))
		}
	}
	return combos, nil
}

// matchesAll: every key of e (of keys only, if keys is not nil) that c has, c has with e's value.
func matchesAll(c, e map[string]string, keys []string) bool {
	for k, v := range e {
		if keys != nil && !slices.Contains(keys, k) {
			continue
		}
		if cv, ok := c[k]; (ok || keys == nil) && cv != v {
			return false
		}
	}
	return true
}

func TestExpandMatrix(t *testing.T) {
	product := map[string]any{"goos": []any{"linux", "darwin"}, "goarch": []any{"amd64", "arm64"}}
	withKeys := func(extra map[string]any) map[string]any {
		m := maps.Clone(product)
		maps.Copy(m, extra)
		return m
	}
	pair := func(os, arch string) map[string]any { return map[string]any{"goos": os, "goarch": arch} }
	for name, c := range map[string]struct {
		matrix map[string]any
		want   []string
	}{
		"product":      {product, []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64"}},
		"include only": {map[string]any{"include": []any{pair("linux", "amd64"), pair("darwin", "arm64")}}, []string{"darwin/arm64", "linux/amd64"}},
		"exclude":      {withKeys(map[string]any{"exclude": []any{pair("darwin", "amd64")}}), []string{"darwin/arm64", "linux/amd64", "linux/arm64"}},
		"include adds": {withKeys(map[string]any{"include": []any{pair("windows", "amd64")}}), []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64"}},
		"include extends": {withKeys(map[string]any{"include": []any{map[string]any{"goos": "linux", "cc": "gcc"}}}),
			[]string{"darwin/amd64", "darwin/arm64", "linux/amd64 gcc", "linux/arm64 gcc"}},
	} {
		combos, err := expandMatrix(c.matrix)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got []string
		for _, x := range combos {
			got = append(got, strings.TrimSpace(x["goos"]+"/"+x["goarch"]+" "+x["cc"]))
		}
		sort.Strings(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
	if _, err := expandMatrix(map[string]any{"goos": "linux"}); err == nil {
		t.Error("a matrix value that is not a list expanded")
	}
}

// TestPluginBuildMatrixIsTheFourPlatforms: the plugin job's matrix is exactly linux and darwin on
// amd64 and arm64; the job and the release job run on every release (no if), and the build job
// needs the version job (its VERSION) and cannot write to the repository.
func TestPluginBuildMatrixIsTheFourPlatforms(t *testing.T) {
	r := readPluginRelease(t)
	for name, job := range map[string]*pluginJob{r.buildJobName: r.buildJob, r.releaseJobName: r.releaseJob} {
		if job.If != "" {
			t.Errorf("job %s runs only if %s; every release publishes the plugin", name, job.If)
		}
	}
	platforms, _ := r.matrix(t)
	if !slices.Equal(platforms, pluginPlatforms) {
		t.Errorf("job %s builds for %v, want exactly %v", r.buildJobName, platforms, pluginPlatforms)
	}
	if !slices.Contains(r.buildJob.needs(), "version") {
		t.Errorf("job %s needs %v, not the version job", r.buildJobName, r.buildJob.needs())
	}
	if r.buildJob.Permissions["contents"] == "write" {
		t.Errorf("job %s can write the repository's contents; only %s publishes", r.buildJobName, r.releaseJobName)
	}
}

// stubTools writes the stand-ins for go and git into a directory to put first on PATH. go writes
// how it was called (CGO_ENABLED, GOOS, GOARCH, then one line per argument) to log and a fake
// binary to its -o; git answers `git log -1 --format=%ct` with testEpoch.
func stubTools(t *testing.T, log string) string {
	t.Helper()
	dir := t.TempDir()
	goStub := `#!/usr/bin/env bash
{
  printf 'CGO_ENABLED=%s\nGOOS=%s\nGOARCH=%s\n' "${CGO_ENABLED-unset}" "${GOOS-unset}" "${GOARCH-unset}"
  printf 'arg=%s\n' "$@"
} > '` + log + `'
out=
while [ $# -gt 0 ]; do
  if [ "$1" = -o ]; then out=$2; fi
  shift
done
if [ -z "$out" ]; then echo "go stand-in: no -o" >&2; exit 1; fi
printf 'kubectl-inferencepool for %s/%s\n' "$GOOS" "$GOARCH" > "$out"
chmod 0755 "$out"
`
	gitStub := fmt.Sprintf(`#!/usr/bin/env bash
if [ "$*" = "log -1 --format=%%ct" ]; then echo %d; exit 0; fi
echo "git stand-in: unexpected git $*" >&2
exit 1
`, testEpoch)
	for name, script := range map[string]string{"go": goStub, "git": gitStub} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var expression = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// runStep runs a step's script in dir as GitHub does (bash -e), with the step's env (its
// expressions replaced from vars) and PATH starting with pathDir.
func runStep(t *testing.T, dir string, s pluginStep, vars map[string]string, pathDir string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-e", "-c", s.Run)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "CGO_ENABLED", "GOOS", "GOARCH", "VERSION", "SOURCE_DATE_EPOCH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY":
			continue
		case "PATH":
			kv = "PATH=" + pathDir + string(os.PathListSeparator) + v
		}
		cmd.Env = append(cmd.Env, kv)
	}
	for k, v := range s.Env {
		v = expression.ReplaceAllStringFunc(v, func(m string) string {
			x := expression.FindStringSubmatch(m)[1]
			val, ok := vars[x]
			if !ok {
				t.Errorf("step %q: env %s=%s: the test does not know ${{ %s }}", s.Name, k, v, x)
			}
			return val
		})
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "GITHUB_STEP_SUMMARY="+filepath.Join(t.TempDir(), "summary"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// builtPlatform is what the build step gave for one matrix combination.
type builtPlatform struct {
	goos, goarch string
	goCall       []string // the go stand-in's log
	dir          string   // the job's workspace
	uploaded     []string // the files the upload-artifact step uploads, relative to dir
	artifact     string   // the artifact's name
}

// buildPlugin runs the build step for one matrix combination in a fresh workspace.
func (r *pluginRelease) buildPlugin(t *testing.T, combo map[string]string) *builtPlatform {
	t.Helper()
	vars := map[string]string{"needs.version.outputs.version": testVersion}
	for k, v := range combo {
		vars["matrix."+k] = v
	}
	b := &builtPlatform{goos: combo["goos"], goarch: combo["goarch"], dir: t.TempDir()}
	log := filepath.Join(t.TempDir(), "go.log")
	if out, err := runStep(t, b.dir, r.build, vars, stubTools(t, log)); err != nil {
		t.Fatalf("job %s (%s/%s), step %q: %v\n%s", r.buildJobName, b.goos, b.goarch, r.build.Name, err, out)
	}
	goLog, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("job %s (%s/%s): go was not called: %v", r.buildJobName, b.goos, b.goarch, err)
	}
	b.goCall = strings.Split(strings.TrimSuffix(string(goLog), "\n"), "\n")

	upload := r.buildJob.step(t, r.buildJobName, "actions/upload-artifact")
	b.artifact = expression.ReplaceAllStringFunc(upload.With["name"], func(m string) string {
		return vars[expression.FindStringSubmatch(m)[1]]
	})
	for _, glob := range strings.Fields(upload.With["path"]) {
		matches, err := filepath.Glob(filepath.Join(b.dir, glob))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(b.dir, m)
			b.uploaded = append(b.uploaded, rel)
		}
	}
	return b
}

// simulation is a run of the plugin jobs: every matrix combination built, then the release job's
// render step in a workspace with the artifacts downloaded as its download-artifact step says.
type simulation struct {
	r         *pluginRelease
	platforms []string
	built     []*builtPlatform
	workspace string // the release job's
}

func simulate(t *testing.T) *simulation {
	t.Helper()
	r := readPluginRelease(t)
	platforms, combos := r.matrix(t)
	sim := &simulation{r: r, platforms: platforms, workspace: t.TempDir()}
	for _, c := range combos {
		sim.built = append(sim.built, r.buildPlugin(t, c))
	}

	// checkout: the template; download-artifact: every plugin artifact, merged into one directory.
	template, err := os.ReadFile(filepath.Join(repoRoot(), krewManifestPath))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sim.workspace, krewManifestPath), template)
	download := r.releaseJob.step(t, r.releaseJobName, "actions/download-artifact")
	if download.With["merge-multiple"] != "true" || download.With["path"] == "" {
		t.Fatalf("job %s downloads with %v, want merge-multiple and a path", r.releaseJobName, download.With)
	}
	for _, b := range sim.built {
		if ok, _ := path.Match(download.With["pattern"], b.artifact); !ok {
			t.Errorf("job %s downloads artifacts %q, not the artifact %q of %s/%s", r.releaseJobName, download.With["pattern"], b.artifact, b.goos, b.goarch)
		}
		for _, f := range b.uploaded {
			// An artifact holds its files relative to their common directory: here, each is alone in it.
			data, err := os.ReadFile(filepath.Join(b.dir, f))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(sim.workspace, download.With["path"], filepath.Base(f)), data)
		}
	}
	return sim
}

// renderManifest runs the release job's render step; it returns the step's output and error.
func (sim *simulation) renderManifest(t *testing.T) (string, error) {
	t.Helper()
	return runStep(t, sim.workspace, sim.r.render, map[string]string{"needs.version.outputs.version": testVersion}, stubTools(t, filepath.Join(t.TempDir(), "go.log")))
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// archiveEntry is a file of a .tar.gz.
type archiveEntry struct {
	header *tar.Header
	data   []byte
}

func readArchive(t *testing.T, name string) (*gzip.Header, map[string]archiveEntry) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	tr := tar.NewReader(zr)
	entries := map[string]archiveEntry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = archiveEntry{h, data}
	}
	return &zr.Header, entries
}

func sha256File(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestPluginBuildStep: for each platform, the build step runs
// `CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=<version>" -o kubectl-inferencepool ./cmd/kubectl-inferencepool`
// with that GOOS and GOARCH, and packages dist/kubectl-inferencepool_<version>_<os>_<arch>.tar.gz
// holding the binary alone (executable, owned by root, at the tagged commit's time, so the
// archive is reproducible) with its sha256 in <archive>.sha256; the job uploads both.
func TestPluginBuildStep(t *testing.T) {
	sim := simulate(t)
	if len(sim.built) == 0 {
		t.Fatal("nothing built")
	}
	if _, err := os.Stat(filepath.Join(repoRoot(), "LICENSE")); err == nil {
		t.Errorf("the repository has a LICENSE: the archives should hold it next to the binary, and %s extract it", krewManifestPath)
	}
	for _, b := range sim.built {
		wantCall := []string{"CGO_ENABLED=0", "GOOS=" + b.goos, "GOARCH=" + b.goarch,
			"arg=build", "arg=-trimpath", "arg=-ldflags", "arg=-s -w -X main.version=" + testVersion, "arg=-o", "arg=" + pluginBin, "arg=" + pluginPackage}
		if !slices.Equal(b.goCall, wantCall) {
			t.Errorf("%s/%s: go called as\n  %q\nwant\n  %q", b.goos, b.goarch, b.goCall, wantCall)
		}
		archive := filepath.Join("dist", archiveName(testVersion, b.goos, b.goarch))
		wantUploaded := []string{archive, archive + ".sha256"}
		if got := slices.Sorted(slices.Values(b.uploaded)); !slices.Equal(got, wantUploaded) {
			t.Errorf("%s/%s: the job uploads %v, want %v", b.goos, b.goarch, got, wantUploaded)
			continue
		}
		gz, entries := readArchive(t, filepath.Join(b.dir, archive))
		if !gz.ModTime.IsZero() || gz.Name != "" {
			t.Errorf("%s: gzip header records name %q, time %v: the archive is not reproducible", archive, gz.Name, gz.ModTime)
		}
		if names := slices.Sorted(maps.Keys(entries)); !slices.Equal(names, []string{pluginBin}) {
			t.Errorf("%s holds %v, want [%s]", archive, names, pluginBin)
		}
		if e, ok := entries[pluginBin]; ok {
			h := e.header
			if h.Typeflag != tar.TypeReg || h.Mode&0o111 == 0 || h.Uid != 0 || h.Gid != 0 || h.ModTime.Unix() != testEpoch {
				t.Errorf("%s: %s is type %c mode %o uid %d gid %d time %d, want an executable file of root's at %d", archive, pluginBin, h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.Unix(), testEpoch)
			}
			if want := fmt.Sprintf("kubectl-inferencepool for %s/%s\n", b.goos, b.goarch); string(e.data) != want {
				t.Errorf("%s: %s is %q, not the binary go built (%q)", archive, pluginBin, e.data, want)
			}
		}
		sum, err := os.ReadFile(filepath.Join(b.dir, archive+".sha256"))
		if err != nil {
			t.Fatal(err)
		}
		if want := sha256File(t, filepath.Join(b.dir, archive)) + "  " + filepath.Base(archive) + "\n"; string(sum) != want {
			t.Errorf("%s.sha256 is %q, want %q", archive, sum, want)
		}
	}

	// Built again, the same archive, byte for byte.
	_, combos := sim.r.matrix(t)
	again := sim.r.buildPlugin(t, combos[0])
	archive := filepath.Join("dist", archiveName(testVersion, again.goos, again.goarch))
	for _, b := range sim.built {
		if b.goos == again.goos && b.goarch == again.goarch {
			if x, y := sha256File(t, filepath.Join(b.dir, archive)), sha256File(t, filepath.Join(again.dir, archive)); x != y {
				t.Errorf("%s: built twice, sha256 %s then %s", archive, x, y)
			}
		}
	}
}

// krewPlugin is krew's plugin manifest (sigs.k8s.io/krew/pkg/index, Plugin), decoded strictly as
// krew decodes it: a field krew does not know is an error.
type krewPlugin struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Version          string         `yaml:"version"`
		Homepage         string         `yaml:"homepage"`
		ShortDescription string         `yaml:"shortDescription"`
		Description      string         `yaml:"description"`
		Caveats          string         `yaml:"caveats"`
		Platforms        []krewPlatform `yaml:"platforms"`
	} `yaml:"spec"`
}

type krewPlatform struct {
	Selector *struct {
		MatchLabels      map[string]string `yaml:"matchLabels"`
		MatchExpressions []struct {
			Key      string   `yaml:"key"`
			Operator string   `yaml:"operator"`
			Values   []string `yaml:"values"`
		} `yaml:"matchExpressions"`
	} `yaml:"selector"`
	URI    string `yaml:"uri"`
	Sha256 string `yaml:"sha256"`
	Files  []struct {
		From string `yaml:"from"`
		To   string `yaml:"to"`
	} `yaml:"files"`
	Bin string `yaml:"bin"`
}

// platform is the os/arch the platform selects ("" if its selector is not exactly those labels).
func (p krewPlatform) platform() string {
	if p.Selector == nil || len(p.Selector.MatchExpressions) > 0 || len(p.Selector.MatchLabels) != 2 ||
		p.Selector.MatchLabels["os"] == "" || p.Selector.MatchLabels["arch"] == "" {
		return ""
	}
	return p.Selector.MatchLabels["os"] + "/" + p.Selector.MatchLabels["arch"]
}

func decodeKrew(b []byte) (*krewPlugin, error) {
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	p := &krewPlugin{}
	if err := d.Decode(p); err != nil {
		return nil, err
	}
	return p, nil
}

var (
	krewSafeName = regexp.MustCompile(`^[\w-]+$`)
	krewSHA256   = regexp.MustCompile(`^[a-f0-9]{64}$`)
)

// validateKrew is krew's own check of a manifest (sigs.k8s.io/krew internal/index/validation,
// ValidatePlugin, which krew and krew-index's CI run), plus what this project requires: a
// homepage and a description.
func validateKrew(name string, p *krewPlugin) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if p.APIVersion != krewAPIVersion {
		fail("apiVersion %q, want %s", p.APIVersion, krewAPIVersion)
	}
	if p.Kind != "Plugin" {
		fail("kind %q, want Plugin", p.Kind)
	}
	if !krewSafeName.MatchString(name) || p.Metadata.Name != name {
		fail("metadata.name %q, want %q (the file's name)", p.Metadata.Name, name)
	}
	if p.Spec.ShortDescription == "" || strings.ContainsAny(p.Spec.ShortDescription, "\r\n") {
		fail("shortDescription %q: want one line", p.Spec.ShortDescription)
	}
	if strings.TrimSpace(p.Spec.Description) == "" {
		fail("no description")
	}
	if p.Spec.Homepage == "" {
		fail("no homepage")
	}
	if !strings.HasPrefix(p.Spec.Version, "v") {
		fail("version %q does not start with v", p.Spec.Version)
	} else if _, err := k8sversion.ParseSemantic(p.Spec.Version); err != nil {
		fail("version %q: %v", p.Spec.Version, err)
	}
	if len(p.Spec.Platforms) == 0 {
		fail("no platforms")
	}
	for i, pl := range p.Spec.Platforms {
		if pl.URI == "" {
			fail("platform %d: no uri", i)
		}
		if !krewSHA256.MatchString(pl.Sha256) {
			fail("platform %d: sha256 %q is not 64 lowercase hex digits", i, pl.Sha256)
		}
		if pl.Bin == "" {
			fail("platform %d: no bin", i)
		}
		if pl.Files != nil && len(pl.Files) == 0 {
			fail("platform %d: files is empty", i)
		}
		for _, f := range pl.Files {
			if f.From == "" || f.To == "" {
				fail("platform %d: a file has no from or to", i)
			}
		}
		switch sel := pl.Selector; {
		case sel == nil || len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0:
			fail("platform %d: no selector", i)
		default:
			for k := range sel.MatchLabels {
				if k != "os" && k != "arch" {
					fail("platform %d: selector key %q (krew knows os and arch)", i, k)
				}
			}
			for _, e := range sel.MatchExpressions {
				if e.Key != "os" && e.Key != "arch" {
					fail("platform %d: selector key %q (krew knows os and arch)", i, e.Key)
				}
			}
		}
	}
	return errs
}

func TestValidateKrew(t *testing.T) {
	valid := `apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: inferencepool
spec:
  version: v1.2.3
  homepage: https://example.com
  shortDescription: short
  description: long
  platforms:
  - selector:
      matchLabels:
        os: linux
        arch: amd64
    uri: https://example.com/a.tar.gz
    sha256: ` + strings.Repeat("ab", 32) + `
    files:
    - from: kubectl-inferencepool
      to: .
    bin: kubectl-inferencepool
`
	p, err := decodeKrew([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if errs := validateKrew("inferencepool", p); len(errs) > 0 {
		t.Fatalf("a valid manifest: %v", errs)
	}
	for _, c := range [][2]string{
		{"kind: Plugin", "kind: Plugins"},
		{"version: v1.2.3", "version: 1.2.3"},
		{"version: v1.2.3", "version: vVERSION"},
		{"shortDescription: short", "shortDescription: \"\""},
		{"description: long", "description: \"\""},
		{"sha256: " + strings.Repeat("ab", 32), "sha256: SHA256_LINUX_AMD64"},
		{"    bin: kubectl-inferencepool", "    bin: \"\""},
		{"        os: linux", "        distro: linux"},
		{"      to: .", "      to: \"\""},
	} {
		bad := strings.Replace(valid, c[0], c[1], 1)
		if bad == valid {
			t.Fatalf("%q is not in the sample", c[0])
		}
		p, err := decodeKrew([]byte(bad))
		if err != nil {
			t.Fatal(err)
		}
		if errs := validateKrew("inferencepool", p); len(errs) == 0 {
			t.Errorf("%q: no error", c[1])
		}
	}
	if _, err := decodeKrew([]byte(strings.Replace(valid, "    bin:", "    binary:", 1))); err == nil {
		t.Error("a manifest with a field krew does not know decoded")
	}
}

// TestKrewManifestTemplate: hack/krew/inferencepool.yaml decodes strictly as a krew Plugin named
// inferencepool (its file's name), with spec.version vVERSION, the project's homepage (its Go
// module), a one-line shortDescription and a description; its platforms are exactly the plugin
// job's matrix, each selected by exactly {os, arch}, downloading from the release of tag
// vVERSION the archive the build step names for that platform, with sha256 SHA256_<OS>_<ARCH>,
// extracting the binary and running bin kubectl-inferencepool.
func TestKrewManifestTemplate(t *testing.T) {
	r := readPluginRelease(t)
	platforms, _ := r.matrix(t)
	b, err := os.ReadFile(filepath.Join(repoRoot(), krewManifestPath))
	if err != nil {
		t.Fatal(err)
	}
	p, err := decodeKrew(b)
	if err != nil {
		t.Fatalf("%s: %v", krewManifestPath, err)
	}
	if name := strings.TrimSuffix(filepath.Base(krewManifestPath), ".yaml"); name != pluginName || p.Metadata.Name != pluginName {
		t.Errorf("%s: metadata.name %q in file %s.yaml, want %s in %s.yaml (krew-index names the file after the plugin)", krewManifestPath, p.Metadata.Name, name, pluginName, pluginName)
	}
	if p.Spec.Version != "vVERSION" {
		t.Errorf("%s: spec.version %q, want vVERSION (the workflow writes the tag there)", krewManifestPath, p.Spec.Version)
	}
	gomod, err := os.ReadFile(filepath.Join(repoRoot(), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if module := "https://" + strings.TrimPrefix(strings.SplitN(string(gomod), "\n", 2)[0], "module "); module != pluginHomepage || p.Spec.Homepage != pluginHomepage {
		t.Errorf("%s: homepage %q; the module is at %s, want %s", krewManifestPath, p.Spec.Homepage, module, pluginHomepage)
	}

	// Placeholders filled, the template is a valid krew manifest.
	filled := strings.ReplaceAll(string(b), "VERSION", testVersion)
	filled = regexp.MustCompile(`SHA256_[A-Z0-9]+_[A-Z0-9]+`).ReplaceAllString(filled, strings.Repeat("0", 64))
	if q, err := decodeKrew([]byte(filled)); err != nil {
		t.Errorf("%s, placeholders filled: %v", krewManifestPath, err)
	} else {
		for _, e := range validateKrew(pluginName, q) {
			t.Errorf("%s, placeholders filled: %s", krewManifestPath, e)
		}
	}

	var got []string
	for i, pl := range p.Spec.Platforms {
		platform := pl.platform()
		if platform == "" {
			t.Errorf("%s: platform %d selects %+v, want matchLabels exactly {os, arch}", krewManifestPath, i, pl.Selector)
			continue
		}
		got = append(got, platform)
		goos, goarch, _ := strings.Cut(platform, "/")
		if want := releaseDownload + "vVERSION/" + archiveName("VERSION", goos, goarch); pl.URI != want {
			t.Errorf("%s: %s downloads %s, want %s (the archive the workflow attaches to the release)", krewManifestPath, platform, pl.URI, want)
		}
		if want := "SHA256_" + strings.ToUpper(goos+"_"+goarch); pl.Sha256 != want {
			t.Errorf("%s: %s sha256 %q, want the placeholder %s", krewManifestPath, platform, pl.Sha256, want)
		}
		if pl.Bin != pluginBin {
			t.Errorf("%s: %s bin %q, want %s", krewManifestPath, platform, pl.Bin, pluginBin)
		}
		if len(pl.Files) != 1 || pl.Files[0].From != pluginBin || pl.Files[0].To != "." {
			t.Errorf("%s: %s extracts %+v, want %s to .", krewManifestPath, platform, pl.Files, pluginBin)
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, platforms) {
		t.Errorf("%s has platforms %v; the workflow builds %v", krewManifestPath, got, platforms)
	}
}

// TestKrewManifestRenderedFromTheBuiltArchives: the release job's render step, given the archives
// the build step made, writes a valid krew manifest at the tag's version whose every platform
// downloads the archive built for it from the release of the tag, with that archive's sha256,
// extracts exactly the archive's files and runs an executable kubectl-inferencepool; the job
// attaches it (named <plugin>.yaml, as krew-index wants), the archives and their .sha256 files to
// the release of the tag, and nothing else; it may write to the repository's contents, which
// uploading to a release takes.
func TestKrewManifestRenderedFromTheBuiltArchives(t *testing.T) {
	sim := simulate(t)
	if out, err := sim.renderManifest(t); err != nil {
		t.Fatalf("job %s, step %q: %v\n%s", sim.r.releaseJobName, sim.r.render.Name, err, out)
	}
	if !slices.Contains(sim.r.releaseJob.needs(), sim.r.buildJobName) || !slices.Contains(sim.r.releaseJob.needs(), "version") {
		t.Errorf("job %s needs %v, want %s and version", sim.r.releaseJobName, sim.r.releaseJob.needs(), sim.r.buildJobName)
	}
	if sim.r.releaseJob.Permissions["contents"] != "write" {
		t.Errorf("job %s has contents: %q, want write (to upload to the release)", sim.r.releaseJobName, sim.r.releaseJob.Permissions["contents"])
	}

	// What the release step attaches.
	upload := sim.r.releaseJob.step(t, sim.r.releaseJobName, "softprops/action-gh-release")
	if upload.With["tag_name"] != "" || upload.With["fail_on_unmatched_files"] != "true" {
		t.Errorf("job %s attaches to tag %q (fail_on_unmatched_files %q), want the pushed tag's release and a failure if a file is missing", sim.r.releaseJobName, upload.With["tag_name"], upload.With["fail_on_unmatched_files"])
	}
	var attached []string
	for _, glob := range strings.Fields(upload.With["files"]) {
		matches, err := filepath.Glob(filepath.Join(sim.workspace, glob))
		if err != nil {
			t.Fatal(err)
		}
		if len(matches) == 0 {
			t.Errorf("job %s attaches %s: no such file", sim.r.releaseJobName, glob)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(sim.workspace, m)
			if !slices.Contains(attached, rel) {
				attached = append(attached, rel)
			}
		}
	}
	var manifests, wantAttached []string
	for _, f := range attached {
		if strings.HasSuffix(f, ".yaml") {
			manifests = append(manifests, f)
		}
	}
	if len(manifests) != 1 || filepath.Base(manifests[0]) != pluginName+".yaml" {
		t.Fatalf("job %s attaches the manifests %v, want one, %s.yaml", sim.r.releaseJobName, manifests, pluginName)
	}
	wantAttached = append(wantAttached, manifests[0])

	b, err := os.ReadFile(filepath.Join(sim.workspace, manifests[0]))
	if err != nil {
		t.Fatal(err)
	}
	p, err := decodeKrew(b)
	if err != nil {
		t.Fatalf("the rendered manifest: %v\n%s", err, b)
	}
	for _, e := range validateKrew(pluginName, p) {
		t.Errorf("the rendered manifest: %s", e)
	}
	if p.Spec.Version != "v"+testVersion {
		t.Errorf("the rendered manifest's version is %q, want v%s", p.Spec.Version, testVersion)
	}
	if bytes.Contains(b, []byte("VERSION")) || bytes.Contains(b, []byte("SHA256_")) || bytes.HasPrefix(b, []byte("#")) {
		t.Errorf("the rendered manifest keeps placeholders or the template's comments:\n%s", b)
	}

	download := sim.r.releaseJob.step(t, sim.r.releaseJobName, "actions/download-artifact").With["path"]
	var got []string
	for _, pl := range p.Spec.Platforms {
		platform := pl.platform()
		got = append(got, platform)
		goos, goarch, _ := strings.Cut(platform, "/")
		name := archiveName(testVersion, goos, goarch)
		archive := filepath.Join(sim.workspace, download, name)
		if _, err := os.Stat(archive); err != nil {
			t.Errorf("%s: the workflow built no %s: %v", platform, name, err)
			continue
		}
		wantAttached = append(wantAttached, filepath.Join(download, name), filepath.Join(download, name+".sha256"))
		if want := releaseDownload + "v" + testVersion + "/" + name; pl.URI != want {
			t.Errorf("%s: uri %s, want %s", platform, pl.URI, want)
		}
		if sum := sha256File(t, archive); pl.Sha256 != sum {
			t.Errorf("%s: sha256 %s; %s's is %s", platform, pl.Sha256, name, sum)
		}
		if pl.Bin != pluginBin {
			t.Errorf("%s: bin %q, want %s", platform, pl.Bin, pluginBin)
		}
		// krew extracts the archive and keeps the files the from patterns match: all of them, and
		// the bin among them, executable.
		_, entries := readArchive(t, archive)
		for name, e := range entries {
			matched := false
			for _, f := range pl.Files {
				if ok, _ := path.Match(f.From, name); ok {
					matched = true
					if f.To == "." && name == pl.Bin && e.header.Mode&0o111 == 0 {
						t.Errorf("%s: %s is not executable in %s", platform, name, archive)
					}
				}
			}
			if !matched {
				t.Errorf("%s: the archive's %s is not installed (files %+v)", platform, name, pl.Files)
			}
		}
		for _, f := range pl.Files {
			if !slices.ContainsFunc(slices.Collect(maps.Keys(entries)), func(n string) bool { ok, _ := path.Match(f.From, n); return ok }) {
				t.Errorf("%s: files from %q: not in %s", platform, f.From, name)
			}
		}
		if _, ok := entries[pl.Bin]; !ok {
			t.Errorf("%s: bin %s is not in %s", platform, pl.Bin, name)
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, sim.platforms) {
		t.Errorf("the rendered manifest has platforms %v; the workflow builds %v", got, sim.platforms)
	}
	sort.Strings(attached)
	sort.Strings(wantAttached)
	if !slices.Equal(attached, wantAttached) {
		t.Errorf("job %s attaches\n  %v\nwant\n  %v", sim.r.releaseJobName, attached, wantAttached)
	}
}

// TestKrewRenderFailsWithoutEveryArchive: the render step fails, rather than attach a manifest with
// a placeholder for a checksum, when a platform's archive is missing, and fails when an archive
// does not match its .sha256.
func TestKrewRenderFailsWithoutEveryArchive(t *testing.T) {
	sim := simulate(t)
	dist := filepath.Join(sim.workspace, sim.r.releaseJob.step(t, sim.r.releaseJobName, "actions/download-artifact").With["path"])
	last := sim.built[len(sim.built)-1]
	archive := filepath.Join(dist, archiveName(testVersion, last.goos, last.goarch))

	if err := os.WriteFile(archive, []byte("not the archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := sim.renderManifest(t); err == nil {
		t.Errorf("the render step passed with an archive that does not match its sha256:\n%s", out)
	}
	for _, f := range []string{archive, archive + ".sha256"} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := sim.renderManifest(t); err == nil {
		t.Errorf("the render step passed without %s:\n%s", filepath.Base(archive), out)
	}
}

// TestPluginMainPackage: ./cmd/kubectl-inferencepool, once it exists, is a main package with a
// package-level string variable version that -X main.version=<version> can set (declared with
// type string, or with a constant string, and nothing else).
func TestPluginMainPackage(t *testing.T) {
	dir := filepath.Join(repoRoot(), filepath.FromSlash(pluginPackage))
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		t.Skipf("%s does not exist yet", pluginPackage)
	}
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || pkgs["main"] == nil {
		t.Fatalf("%s holds packages %v, want main", pluginPackage, slices.Collect(maps.Keys(pkgs)))
	}
	found := false
	for _, f := range pkgs["main"].Files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				v := spec.(*ast.ValueSpec)
				for i, n := range v.Names {
					if n.Name != "version" {
						continue
					}
					found = true
					typed := false
					if id, ok := v.Type.(*ast.Ident); ok && id.Name == "string" {
						typed = true
					}
					literal := false
					if i < len(v.Values) {
						lit, ok := v.Values[i].(*ast.BasicLit)
						literal = ok && lit.Kind == token.STRING
					}
					if !(typed && len(v.Values) == 0) && !literal {
						t.Errorf("%s: var version is not a string -X can set (a string type or a string literal)", pluginPackage)
					}
				}
			}
		}
	}
	if !found {
		t.Errorf("%s has no package-level var version: -X main.version sets nothing", pluginPackage)
	}
}
