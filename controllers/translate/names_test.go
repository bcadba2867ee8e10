package translate_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// subdomain returns a valid DNS-1123 subdomain of exactly n characters, with dots, as
// Kubernetes allows for the names of most objects (InferencePools included).
func subdomain(n int, fill byte) string {
	b := []byte(strings.Repeat(string(fill), n))
	for i := 10; i < n-1; i += 11 {
		b[i] = '.'
	}
	return string(b)
}

func TestDNS1035Name(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parts []string
		// want is the exact result, or "" when only its shape is checked.
		want string
		// wantPrefix is what a shortened or sanitized name starts with.
		wantPrefix string
	}{
		{name: "short, kept", parts: []string{"ipool", "llm"}, want: "ipool-llm"},
		{name: "one part", parts: []string{"gateway"}, want: "gateway"},
		{name: "dots become dashes, with a hash", parts: []string{"ipool", "llama.3.8b"}, wantPrefix: "ipool-llama-3-8b-"},
		{name: "upper case is lowered, with a hash", parts: []string{"Pool"}, wantPrefix: "pool-"},
		{name: "leading digit gets a letter", parts: []string{"8b-pool"}, wantPrefix: "x8b-pool-"},
		{name: "runs of invalid characters collapse", parts: []string{"a..b__c"}, wantPrefix: "a-b-c-"},
		{name: "trailing dash trimmed", parts: []string{"pool-"}, wantPrefix: "pool-"},
		{name: "empty", parts: []string{""}, wantPrefix: "x"},
		{name: "63 characters, kept", parts: []string{strings.Repeat("a", 63)}, want: strings.Repeat("a", 63)},
		{name: "64 characters, shortened", parts: []string{strings.Repeat("a", 64)}, wantPrefix: strings.Repeat("a", 54) + "-"},
		{name: "200 characters with dots", parts: []string{"ipool", subdomain(200, 'b')}, wantPrefix: "ipool-"},
		{name: "253 characters with dots", parts: []string{subdomain(253, 'c'), "eg"}, wantPrefix: "c"},
		{name: "joined parts over 63", parts: []string{strings.Repeat("a", 40), strings.Repeat("b", 40)}, wantPrefix: strings.Repeat("a", 40) + "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := translate.DNS1035Name(tc.parts...)
			if errs := validation.IsDNS1035Label(got); len(errs) != 0 {
				t.Errorf("%q is not a DNS-1035 label: %v", got, errs)
			}
			if tc.want != "" && got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if tc.wantPrefix != "" && !strings.HasPrefix(got, tc.wantPrefix) {
				t.Errorf("got %q, want a name starting with %q", got, tc.wantPrefix)
			}
			if tc.want == "" && got == strings.Join(tc.parts, "-") {
				t.Errorf("got the input %q unchanged, want a sanitized or shortened name", got)
			}
			if again := translate.DNS1035Name(tc.parts...); again != got {
				t.Errorf("not deterministic: %q then %q", got, again)
			}
		})
	}
}

// Inputs that sanitize or shorten to the same text still get distinct names.
func TestDNS1035NameDistinct(t *testing.T) {
	long := strings.Repeat("x", 70)
	for _, pair := range [][2][]string{
		{{"a.b"}, {"a-b"}},
		{{"Pool"}, {"pool"}},
		{{long + "1"}, {long + "2"}},
		{{"ipool", subdomain(200, 'b') + "1"}, {"ipool", subdomain(200, 'b') + "2"}},
		{{"ipool", strings.Repeat("a", 58)}, {"ipool", strings.Repeat("a", 59)}},
		{{subdomain(253, 'c')}, {subdomain(252, 'c') + "d"}},
	} {
		a, b := translate.DNS1035Name(pair[0]...), translate.DNS1035Name(pair[1]...)
		if a == b {
			t.Errorf("%q and %q both give %q", pair[0], pair[1], a)
		}
	}
}

// Generated names join several user-chosen names (pool, namespace): two different
// combinations must not give the same name in the same namespace, or two pools' generated
// objects would take turns overwriting one object. "-" is legal inside each part, so joining
// the parts with "-" alone is ambiguous.
func TestGeneratedNamesKeepPartBoundaries(t *testing.T) {
	pool := func(ns, name string) *giev1.InferencePool {
		return &giev1.InferencePool{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	// Policies for pools of two namespaces, both used by routes in namespace "apps".
	a := translate.PolicyName(pool("team-x", "y"), "apps", "inference", "HTTPRoute", 0)
	b := translate.PolicyName(pool("team", "x-y"), "apps", "inference", "HTTPRoute", 0)
	if a == b {
		t.Errorf("PolicyName: pool team-x/y and pool team/x-y, used from apps, both give %q", a)
	}
	// Grants in one pool namespace for two pools and two route namespaces.
	a = translate.ReferenceGrantName("a-from-b", "c")
	b = translate.ReferenceGrantName("a", "b-from-c")
	if a == b {
		t.Errorf("ReferenceGrantName: pool a-from-b from c and pool a from b-from-c both give %q", a)
	}
}

func TestShadowServiceName(t *testing.T) {
	if got := translate.ShadowServiceName("llm"); got != "ipool-llm" {
		t.Errorf("ShadowServiceName(llm) = %q, want ipool-llm", got)
	}
	for _, n := range []int{1, 57, 58, 63, 64, 200, 253} {
		name := subdomain(n, 'p')
		got := translate.ShadowServiceName(name)
		if errs := validation.IsDNS1035Label(got); len(errs) != 0 {
			t.Errorf("%d characters: %q is not a DNS-1035 label: %v", n, got, errs)
		}
		if n > 63 && got == translate.ShadowServiceName(subdomain(n-1, 'p')) {
			t.Errorf("%d and %d characters give the same name %q", n, n-1, got)
		}
	}
}

func TestLabelValue(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		kept     bool
	}{
		{name: "short", in: "llm", kept: true},
		{name: "dots", in: "llama.3.8b", kept: true},
		{name: "63 characters", in: strings.Repeat("a", 63), kept: true},
		{name: "64 characters", in: strings.Repeat("a", 64)},
		{name: "200 characters", in: subdomain(200, 'b')},
		{name: "253 characters", in: subdomain(253, 'c')},
		// Cut right after a dot: the cut must not leave a trailing "." before the hash.
		{name: "cut at a dot", in: strings.Repeat("d", 53) + "." + strings.Repeat("d", 20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := translate.LabelValue(tc.in)
			if errs := validation.IsValidLabelValue(got); len(errs) != 0 {
				t.Errorf("%q is not a valid label value: %v", got, errs)
			}
			if tc.kept != (got == tc.in) {
				t.Errorf("LabelValue(%q) = %q; kept unchanged: %v, want %v", tc.in, got, got == tc.in, tc.kept)
			}
			if !tc.kept && !strings.HasPrefix(got, tc.in[:40]) {
				t.Errorf("%q does not keep the start of %q", got, tc.in)
			}
		})
	}
	a, b := translate.LabelValue(subdomain(200, 'b')+"1"), translate.LabelValue(subdomain(200, 'b')+"2")
	if a == b {
		t.Errorf("distinct long values both give %q", a)
	}
}
