package inspect

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every check is documented in docs/troubleshooting.md's table with its name and severity, and
// the table lists no other code; codes are unique.
func TestChecksDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(IPO\\d+)` \\| (\\w+) \\| (\\w+) \\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		documented[m[1]] = m[2] + " " + m[3]
	}
	seen := map[string]bool{}
	for _, c := range Checks {
		if seen[c.Code] {
			t.Errorf("code %s used twice", c.Code)
		}
		seen[c.Code] = true
		if got, want := documented[c.Code], c.Name+" "+string(c.Severity); got != want {
			t.Errorf("docs/troubleshooting.md lists %s as %q, want %q", c.Code, got, want)
		}
		if c.Fix == "" || strings.HasSuffix(c.Fix, ".") {
			t.Errorf("%s: the fix %q must be one line without a final period (it is printed after \"fix: \")", c.Code, c.Fix)
		}
	}
	for code := range documented {
		if !seen[code] {
			t.Errorf("docs/troubleshooting.md lists %s, which no check has", code)
		}
	}
}

// The golden problems case plants every check once: a check no input exercises could be broken
// unnoticed.
func TestEveryCheckHasAGoldenCase(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "out", "problems.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Checks {
		if !strings.Contains(string(data), "\"code\": \""+c.Code+"\"") {
			t.Errorf("no golden case finds %s (%s)", c.Code, c.Name)
		}
	}
}
