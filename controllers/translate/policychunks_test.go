package translate_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// The policies of a pool used by more than MaxTargetRefsPerPolicy rules have distinct names even
// when the pool's (or class's) name is long enough that the readable part of the name is cut
// before the chunk number: found by FuzzTranslate (testdata/fuzz/FuzzTranslate/policy-chunk-names),
// where two BackendTrafficPolicies of one name made the second overwrite the first, and half the
// rules lost the endpoint picker's load balancing.
func TestPolicyNamesOfChunksDiffer(t *testing.T) {
	for _, name := range []string{"pool", strings.Repeat("p", 60), strings.Repeat("p", 253)} {
		pool := &giev1.InferencePool{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
		seen := map[string]int{}
		for chunk := range 3 {
			for _, kind := range translate.PoolRouteKinds {
				n := translate.PolicyName(pool, "ns", "inference", kind, chunk)
				if prev, dup := seen[kind+"/"+n]; dup {
					t.Errorf("pool %.10s…: chunks %d and %d of %s are both named %s", name, prev, chunk, kind, n)
				}
				seen[kind+"/"+n] = chunk
			}
		}
	}
}
