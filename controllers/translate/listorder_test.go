package translate_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// TestGoldenInputsInAnyOrder translates every golden input with each of its lists reversed: the
// informer cache lists objects in no stable order, so the objects and statuses the translation
// writes must not follow it (else every reconcile could rewrite them). Events are left out: their
// order across objects means nothing.
func TestGoldenInputsInAnyOrder(t *testing.T) {
	inputs, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".yaml"), func(t *testing.T) {
			snap := loadSnapshot(t, in)
			if err := stampCurrent(snap); err != nil {
				t.Fatal(err)
			}
			want := render(t, withoutEvents(translate.All(copySnapshot(snap))))
			got := render(t, withoutEvents(translate.All(reversedSnapshot(snap))))
			if !bytes.Equal(want, got) {
				t.Errorf("reversing the input's lists changes the translation: %s", diff(string(want), string(got)))
			}
		})
	}
}

func withoutEvents(r translate.Result) translate.Result {
	r.Events = nil
	return r
}
