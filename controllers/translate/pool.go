package translate

import (
	"k8s.io/apimachinery/pkg/types"
	giev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PoolResult is what one InferencePool translates to.
type PoolResult struct {
	// Objects are the generated objects owned by the pool. Empty when no route on our
	// Gateways references the pool: then everything generated for it is pruned.
	Objects []client.Object
}

// TranslatePool renders the objects owned by pool, given the routes, Gateways and classes in s.
func TranslatePool(s *Snapshot, pool *giev1.InferencePool) PoolResult {
	nn := types.NamespacedName{Namespace: pool.Namespace, Name: pool.Name}
	if len(s.RoutesUsingPool(nn)) == 0 {
		return PoolResult{}
	}
	return PoolResult{Objects: []client.Object{ShadowService(pool)}}
}
