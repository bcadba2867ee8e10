// Package reasons_test holds docs/troubleshooting.md to the code: the reasons of the conditions
// and events the operator emits are read from its source (go/types), those the document
// explains from its tables, and the two sets must be equal.
package reasons_test

import (
	"bufio"
	"go/ast"
	"go/constant"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/inferencepool-operator/inferencepool-operator/test/envtest"
)

// The packages whose code emits conditions and events.
var emitters = []string{
	"github.com/inferencepool-operator/inferencepool-operator/controllers",
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate",
	"github.com/inferencepool-operator/inferencepool-operator/controllers/writepath",
}

// emitted finds every constant string that reaches a reason: an argument bound to a parameter
// named reason (Eventf, condition, ...), a Reason field of a composite literal, an assignment
// to a Reason field, a value returned as a result named reason. Reasons copied from Envoy
// Gateway's conditions are variables, and not the operator's to explain.
func emitted(t *testing.T) map[string][]string {
	t.Helper()
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir: envtest.RepoRoot()}
	pkgs, err := packages.Load(cfg, emitters...)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string][]string{} // reason → where
	for _, pkg := range pkgs {
		if len(pkg.Errors) > 0 {
			t.Fatalf("loading %s: %v", pkg.PkgPath, pkg.Errors)
		}
		info := pkg.TypesInfo
		record := func(e ast.Expr) {
			tv, ok := info.Types[e]
			if !ok || tv.Value == nil || tv.Value.Kind() != constant.String {
				return
			}
			pos := pkg.Fset.Position(e.Pos())
			reason := constant.StringVal(tv.Value)
			found[reason] = append(found[reason], filepath.Base(pos.Filename)+":"+itoa(pos.Line))
		}
		for i, file := range pkg.Syntax {
			if strings.HasSuffix(pkg.CompiledGoFiles[i], "_test.go") {
				continue
			}
			var funcs []*types.Signature // enclosing functions, for returns
			ast.Inspect(file, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.FuncDecl:
					if sig, ok := info.Defs[x.Name].Type().(*types.Signature); ok {
						funcs = append(funcs[:0], sig)
					}
				case *ast.CallExpr:
					sig, ok := info.Types[x.Fun].Type.(*types.Signature)
					if !ok {
						return true
					}
					for j, arg := range x.Args {
						if j < sig.Params().Len() && sig.Params().At(j).Name() == "reason" {
							record(arg)
						}
					}
				case *ast.CompositeLit:
					for _, el := range x.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if id, ok := kv.Key.(*ast.Ident); ok && strings.EqualFold(id.Name, "reason") {
								record(kv.Value)
							}
						}
					}
				case *ast.AssignStmt:
					for j, lhs := range x.Lhs {
						if sel, ok := lhs.(*ast.SelectorExpr); ok && strings.EqualFold(sel.Sel.Name, "reason") && j < len(x.Rhs) {
							record(x.Rhs[j])
						}
					}
				case *ast.ReturnStmt:
					if len(funcs) == 0 {
						return true
					}
					res := funcs[0].Results()
					for j, v := range x.Results {
						if j < res.Len() && res.Len() == len(x.Results) && res.At(j).Name() == "reason" {
							record(v)
						}
					}
				}
				return true
			})
		}
	}
	delete(found, "") // "no problem" in returns of (reason, message)
	return found
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// documented reads the reasons of docs/troubleshooting.md: the backticked values of every table
// column headed "reason".
func documented(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join(envtest.RepoRoot(), "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	code := regexp.MustCompile("`([^`]+)`")
	column := -1
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if !strings.HasPrefix(line, "|") {
			column = -1
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if column < 0 {
			for i, c := range cells {
				if strings.EqualFold(strings.TrimSpace(c), "reason") {
					column = i
				}
			}
			continue
		}
		if column < len(cells) {
			for _, m := range code.FindAllStringSubmatch(cells[column], -1) {
				out[m[1]] = true
			}
		}
	}
	return out
}

func TestTroubleshootingListsEveryReason(t *testing.T) {
	code := emitted(t)
	doc := documented(t)
	if len(code) < 20 || len(doc) < 20 {
		t.Fatalf("found %d reasons in the code and %d in the document: the readers are broken", len(code), len(doc))
	}
	var undocumented, unemitted []string
	for r, where := range code {
		if !doc[r] {
			undocumented = append(undocumented, r+" ("+strings.Join(where, ", ")+")")
		}
	}
	for r := range doc {
		if _, ok := code[r]; !ok {
			unemitted = append(unemitted, r)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unemitted)
	if len(undocumented) > 0 {
		t.Errorf("reasons the code emits and docs/troubleshooting.md does not explain:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unemitted) > 0 {
		t.Errorf("reasons docs/troubleshooting.md lists and the code never emits:\n  %s", strings.Join(unemitted, "\n  "))
	}
}
