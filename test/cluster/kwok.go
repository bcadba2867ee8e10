package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// FakeNodeAnnotation marks the nodes kwok manages (kwok runs with
	// --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake).
	FakeNodeAnnotation = "kwok.x-k8s.io/node"
	// PodCIDR is the range kwok assigns fake pod IPs from.
	PodCIDR = "10.244.0.0/16"
	// ServiceCIDR is the API server's --service-cluster-ip-range.
	ServiceCIDR = "10.96.0.0/16"
)

// kwokStages are kwok's default stages (the "fast" set kwokctl uses): nodes become Ready and
// keep a lease, pods become Ready with an IP, Job pods complete, deleted pods go away.
var kwokStages = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

// writeKwokConfig writes kwok's --config: the default stages, read from the kwok module pinned
// by hack/tools/kwok. Without stages kwok refuses to start ("no stages found").
func writeKwokConfig(path string) error {
	dir, err := ToolModuleDir("kwok", "sigs.k8s.io/kwok")
	if err != nil {
		return err
	}
	// Only stages: kwok applies its option defaults (parallelism and the like) only when the
	// file holds no KwokConfiguration, so the options are passed as flags instead.
	var b bytes.Buffer
	for _, stage := range kwokStages {
		data, err := os.ReadFile(filepath.Join(dir, stage))
		if err != nil {
			return fmt.Errorf("kwok stage: %w", err)
		}
		b.Write(data)
		b.WriteString("\n---\n")
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// createFakeNode registers a node for kwok to run. It has no taint, so pods without
// tolerations (Envoy Gateway's proxies, for one) schedule onto it.
func createFakeNode(ctx context.Context, cs kubernetes.Interface, name string) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{FakeNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"type":                   "kwok",
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"kubernetes.io/role":     "agent",
			},
		},
		Spec: corev1.NodeSpec{PodCIDR: PodCIDR, PodCIDRs: []string{PodCIDR}},
		Status: corev1.NodeStatus{
			Allocatable: fakeCapacity(),
			Capacity:    fakeCapacity(),
		},
	}
	_, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// fakeCapacity is the fake node's: room for make bench-e2e's pods (two per pool, up to a few
// thousand pools), which nothing runs.
func fakeCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("10000"),
	}
}
