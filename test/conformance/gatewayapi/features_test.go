//go:build conformance

package gatewayapi

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// TestClaimedFeatures checks the table: only Standard-channel features are claimed, none of
// unclaimedFeatures, and each of those is a Standard feature of routeKinds' sets (a stale entry
// would document a choice nobody makes any more).
func TestClaimedFeatures(t *testing.T) {
	claimed := sets.New(claimedFeatures()...)
	offered := sets.New[features.FeatureName]()
	for _, kind := range routeKinds {
		for _, set := range kind.features {
			for f := range set {
				if f.Channel == features.FeatureChannelStandard {
					offered.Insert(f.Name)
				}
			}
		}
	}
	for name := range claimed {
		if features.GetFeature(name).Channel != features.FeatureChannelStandard {
			t.Errorf("%s is claimed but not in the Standard channel", name)
		}
	}
	for name, reason := range unclaimedFeatures {
		if claimed.Has(name) {
			t.Errorf("%s is claimed and in unclaimedFeatures", name)
		}
		if !offered.Has(name) {
			t.Errorf("unclaimedFeatures has %s (%s), which is no Standard feature of routeKinds", name, reason)
		}
	}
	if !claimed.HasAll(features.SupportGateway, features.SupportHTTPRoute, features.SupportReferenceGrant) {
		t.Errorf("the GATEWAY-HTTP profile's core features are not all claimed: %v", sets.List(claimed))
	}
}
