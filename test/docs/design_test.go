// Package docs_test holds the project's citations of its design to docs/design.md: every
// "design.md §N" in the code, docs, manifests and scripts names a section the document has, and
// nothing cites a design document outside the repository.
package docs_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

var (
	// citation is how the project cites a decision: design.md §N.
	citation = regexp.MustCompile(`design\.md\)? §(\d+)`)
	// outside is a citation of a design brief that is not in the repository (DESIGN §3.11,
	// DESIGN.md §7): a reader cannot follow it.
	outside = regexp.MustCompile(`DESIGN(\.md)? ?§`)
	// section is a heading of docs/design.md.
	section = regexp.MustCompile(`^## §(\d+) `)
)

func TestDesignCitationsResolve(t *testing.T) {
	root := envtest.RepoRoot()
	sections := map[string]bool{}
	f, err := os.Open(filepath.Join(root, "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if m := section.FindStringSubmatch(sc.Text()); m != nil {
			sections[m[1]] = true
		}
	}
	if len(sections) < 10 {
		t.Fatalf("docs/design.md has %d numbered sections; the check reads headings \"## §N title\"", len(sections))
	}

	out, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("listing the repository's files: %v", err)
	}
	cited := 0
	for _, name := range strings.Fields(string(out)) {
		if !strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, ".md") && !strings.HasSuffix(name, ".yaml") &&
			!strings.HasSuffix(name, ".sh") && filepath.Base(name) != "Makefile" {
			continue
		}
		if name == "test/docs/design_test.go" {
			continue // its own patterns
		}
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue // listed by git, gone from the work tree
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, m := range citation.FindAllStringSubmatch(line, -1) {
				cited++
				if !sections[m[1]] {
					t.Errorf("%s:%d cites design.md §%s, which docs/design.md does not have", name, i+1, m[1])
				}
			}
			if outside.MatchString(line) {
				t.Errorf("%s:%d cites a design document outside the repository: %q; cite docs/design.md (design.md §N)", name, i+1, strings.TrimSpace(line))
			}
		}
	}
	if cited == 0 {
		t.Errorf("no citation of design.md found: the pattern no longer matches how the code cites it")
	}
}
