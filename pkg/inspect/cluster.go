// Package inspect is what `kubectl inferencepool` shows and checks: it reads what the operator
// reads (a translate.Snapshot of the cluster) plus the pods and the generated objects the
// Snapshot does not hold, and answers with trees (describe) and findings (analyze). It uses the
// operator's own translation for every name and rule, so it cannot disagree with the operator
// about what should exist. Reading is in Load; everything else is pure and golden-tested.
package inspect

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/inferencepool-operator/inferencepool-operator/controllers"
	"github.com/inferencepool-operator/inferencepool-operator/controllers/translate"
)

// Cluster is what the plugin knows of a cluster.
type Cluster struct {
	Snap *translate.Snapshot
	// Pods are every pod of the namespaces read (a pool's selector picks among them).
	Pods []corev1.Pod
	// Extra are objects the operator generates that a Snapshot does not hold: shadow Services
	// are in Snap.Services; Backends and BackendTLSPolicies are here.
	Extra []client.Object
}

// Scheme is the scheme of every kind the plugin reads: the operator's.
var Scheme = controllers.NewScheme()

// extraKinds are the generated kinds read besides the Snapshot's, each with a new empty list
// (a new one per read: the objects read point into it).
var extraKinds = map[string]func() client.ObjectList{
	"Backend":          func() client.ObjectList { return &egv1a1.BackendList{} },
	"BackendTLSPolicy": func() client.ObjectList { return &gwapiv1.BackendTLSPolicyList{} },
}

// Load reads the whole cluster through c: every kind a Snapshot holds, the pods of the pools'
// namespaces, and extraKinds. (A route, its pool and its Gateway may live in three namespaces:
// the answers for one namespace need the others; they are filtered, not the reads.) A kind the
// API server does not serve is left empty, as the operator does.
func Load(ctx context.Context, c client.Reader) (*Cluster, error) {
	cl := &Cluster{Snap: &translate.Snapshot{DefaultEnvoyGatewayClass: "eg"}}
	list := func(l client.ObjectList) (bool, error) {
		err := c.List(ctx, l)
		if meta.IsNoMatchError(err) {
			return false, nil
		}
		return err == nil, err
	}
	for _, k := range translate.SnapshotKinds {
		l := k.NewList()
		ok, err := list(l)
		if err != nil {
			return nil, fmt.Errorf("listing %ss: %w", k.Kind, err)
		}
		if !ok {
			continue
		}
		for _, o := range k.Items(l) {
			cl.Snap.Add(o)
		}
	}
	// Pods only where pools select them: a cluster has many more.
	seen := map[string]bool{}
	for _, p := range cl.Snap.Pools {
		if seen[p.Namespace] {
			continue
		}
		seen[p.Namespace] = true
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace(p.Namespace)); err != nil {
			return nil, fmt.Errorf("listing pods: %w", err)
		}
		cl.Pods = append(cl.Pods, pods.Items...)
	}
	for _, newList := range extraKinds {
		l := newList()
		ok, err := list(l)
		if err != nil {
			return nil, err
		}
		if ok {
			cl.Extra = append(cl.Extra, itemsOf(l)...)
		}
	}
	return cl, nil
}

func itemsOf(l client.ObjectList) []client.Object {
	items, _ := meta.ExtractList(l)
	out := make([]client.Object, 0, len(items))
	for _, it := range items {
		if o, ok := it.(client.Object); ok {
			out = append(out, o)
		}
	}
	return out
}

// Decode reads a cluster from multi-document YAML (the golden inputs): objects of the
// Snapshot's kinds go there, pods and the extra kinds beside it.
func Decode(data []byte) (*Cluster, error) {
	decoder := serializer.NewCodecFactory(Scheme).UniversalDeserializer()
	cl := &Cluster{Snap: &translate.Snapshot{DefaultEnvoyGatewayClass: "eg"}}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return cl, nil
		}
		if err != nil {
			return nil, err
		}
		if onlyComments(doc) {
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%v\n%s", err, doc)
		}
		switch o := obj.(type) {
		case *corev1.Pod:
			cl.Pods = append(cl.Pods, *o)
		case *egv1a1.Backend, *gwapiv1.BackendTLSPolicy:
			cl.Extra = append(cl.Extra, o.(client.Object))
		default:
			co, ok := obj.(client.Object)
			if !ok || !cl.Snap.Add(co) {
				return nil, fmt.Errorf("unexpected kind %T", obj)
			}
		}
	}
}

// onlyComments tells whether a YAML document holds nothing but comments and blank lines.
func onlyComments(doc []byte) bool {
	for _, l := range bytes.Split(doc, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' && string(l) != "---" {
			return false
		}
	}
	return true
}
