package translate_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// FuzzTranslate translates snapshots built from fuzz bytes by the generator (fuzzgen*_test.go)
// and checks the invariants (invariants*_test.go). `go test` runs the seeds and the corpus in
// testdata/fuzz/FuzzTranslate as ordinary tests; `make fuzz` explores further.
func FuzzTranslate(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytesOf(0xff, 64))
	f.Add(bytesOf(0x01, 512))
	// Pseudo-random seeds (fixed, so every run starts from the same corpus) of a few sizes: a
	// wide first sample of the generator's choices.
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{16, 64, 256, 1024, 4096} {
		for range 8 {
			seed := make([]byte, n)
			for i := range seed {
				seed[i] = byte(r.UintN(256))
			}
			f.Add(seed)
		}
	}
	// Big inputs (the first byte chooses: see generateSnapshot) of 20 KB: snapshots with lists
	// near the API's maxima, for the limits only they reach.
	for range 6 {
		seed := make([]byte, 20000)
		for i := 1; i < len(seed); i++ {
			seed[i] = byte(r.UintN(256))
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		snap := generateSnapshot(data)
		if err := admissible(snap); err != nil {
			t.Fatalf("the generator made an input the API server would refuse: %v", err)
		}
		checkTranslation(t, snap)
	})
}

// FuzzTranslateYAML translates mutations of the golden inputs (testdata/in), decoded as the
// golden test decodes them, and checks the same invariants. Inputs that do not decode, or that
// the API server would refuse (admissible), are skipped: the operator never sees them.
func FuzzTranslateYAML(f *testing.F) {
	inputs, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil || len(inputs) == 0 {
		f.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, err := decodeSnapshot(data)
		if err != nil {
			t.Skip()
		}
		fillUIDs(snap)
		if err := admissible(snap); err != nil {
			t.Skip()
		}
		if err := stampCurrent(snap); err != nil {
			t.Skip()
		}
		checkTranslation(t, snap)
	})
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// TestGoldenInputsAdmissible keeps the YAML target's seeds meaningful: every golden input must
// pass admissible (else the target would skip it without a word).
func TestGoldenInputsAdmissible(t *testing.T) {
	inputs, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		snap := loadSnapshot(t, in)
		fillUIDs(snap)
		if err := admissible(snap); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
}
