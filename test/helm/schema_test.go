package helm

import (
	"strings"
	"testing"
)

// TestSchemaRejectsBadValues: `helm install --dry-run --set <bad value>` fails before rendering,
// through the same values merge and values.schema.json validation as the helm CLI, with a message
// that names the value and says what is wrong with it.
func TestSchemaRejectsBadValues(t *testing.T) {
	for _, tc := range []struct {
		set  string
		want []string // every one must appear in the error
	}{
		{"replicaCount=two", []string{"/replicaCount", "got string, want integer"}},
		{"replicaCount=-1", []string{"/replicaCount", "minimum"}},
		{"replicas=2", []string{"additional properties 'replicas' not allowed"}},
		{"image.pullPolicy=Sometimes", []string{"/image/pullPolicy", "Always", "IfNotPresent", "Never"}},
		{"image.digest=latest", []string{"/image/digest", "does not match pattern"}},
		{"image.tags=v1", []string{"/image", "additional properties 'tags' not allowed"}},
		{"manager.logLevel=loud", []string{"/manager/logLevel"}},
		{"manager.metrics.secure=maybe", []string{"/manager/metrics/secure", "want boolean"}},
		{"manager.metrics.port=70000", []string{"/manager/metrics/port", "maximum"}},
		{"manager.extraArgs[0]=verbose", []string{"/manager/extraArgs/0", "does not match pattern"}},
		{"podDisruptionBudget.minAvailable=half", []string{"/podDisruptionBudget/minAvailable"}},
		{"serviceMonitor.interval=often", []string{"/serviceMonitor/interval", "does not match pattern"}},
		{"fullnameOverride=Not_A_Name", []string{"/fullnameOverride", "does not match pattern"}},
	} {
		t.Run(tc.set, func(t *testing.T) {
			_, err := dryRunInstall(t, tc.set)
			if err == nil {
				t.Fatalf("helm install --dry-run --set %s succeeded", tc.set)
			}
			msg := err.Error()
			if !strings.Contains(msg, "values don't meet the specifications of the schema") {
				t.Errorf("--set %s failed, but not on the schema: %v", tc.set, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("--set %s: the error does not say %q:\n%v", tc.set, w, err)
				}
			}
			t.Logf("--set %s: %v", tc.set, err)
		})
	}
}

// TestTemplatesRefuseInconsistentValues: what the schema cannot express, the templates check, and
// fail the install with a message saying what to do.
func TestTemplatesRefuseInconsistentValues(t *testing.T) {
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"manager.leaderElection.enabled=false"}, "replicaCount > 1 needs manager.leaderElection.enabled=true"},
		{[]string{"serviceAccount.create=false"}, "serviceAccount.create=false needs serviceAccount.name"},
	} {
		_, err := dryRunInstall(t, tc.set...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--set %v: got %v, want an error saying %q", tc.set, err, tc.want)
		}
	}
	// The consistent versions of the same values install.
	for _, set := range [][]string{
		{"manager.leaderElection.enabled=false", "replicaCount=1"},
		{"serviceAccount.create=false", "serviceAccount.name=existing"},
	} {
		if _, err := dryRunInstall(t, set...); err != nil {
			t.Errorf("--set %v: %v", set, err)
		}
	}
}
