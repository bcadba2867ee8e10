package controllers

import (
	"context"
	"slices"
	"strings"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The operator's field indexes keep one key per value (the all-namespaces one), and a List
// without a namespace finds objects through it.
func TestFieldIndexesKeepOneKeyPerValue(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: "epp-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "epp"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	mustCreate(t, slice)
	cached(t, &discoveryv1.EndpointSlice{}, client.ObjectKeyFromObject(slice), slice.ResourceVersion)

	list := &discoveryv1.EndpointSliceList{}
	if err := operatorCache.List(ctx, list, client.MatchingFields{indexEndpointSliceService: ns + "/epp"}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != slice.Name {
		t.Fatalf("slices of Service %s/epp: %d, want %s", ns, len(list.Items), slice.Name)
	}

	informer, err := operatorCache.GetInformer(ctx, &discoveryv1.EndpointSlice{})
	if err != nil {
		t.Fatal(err)
	}
	indexed, ok := informer.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		t.Fatalf("the cache's informer %T has no indexer to inspect", informer)
	}
	keys := indexed.GetIndexer().ListIndexFuncValues("field:" + indexEndpointSliceService)
	want := allNamespacesKey + ns + "/epp"
	if !slices.Contains(keys, want) {
		t.Errorf("index %s lacks %q", indexEndpointSliceService, want)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, allNamespacesKey) {
			t.Errorf("index %s holds %q, a namespaced key: each value would be stored twice", indexEndpointSliceService, k)
		}
	}
}
