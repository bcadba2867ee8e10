package main

import (
	"context"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/inferencepool-operator/inferencepool-operator/pkg/inspect"
)

// describeSamples prints what `kubectl inferencepool describe` prints for each Gateway, route
// and pool the demo applied: the chain from each to what was generated for it, with verdicts.
func describeSamples(ctx context.Context, c client.Client, applied []*unstructured.Unstructured, out io.Writer) error {
	cl, err := inspect.Load(ctx, c)
	if err != nil {
		return err
	}
	kinds := map[string]string{"Gateway": "gateway", "HTTPRoute": "route", "InferencePool": "pool"}
	for _, want := range []string{"Gateway", "HTTPRoute", "InferencePool"} {
		for _, u := range applied {
			if u.GetKind() != want {
				continue
			}
			fmt.Fprintf(out, "\n$ kubectl inferencepool describe %s %s -n %s\n", kinds[want], u.GetName(), u.GetNamespace())
			tree, err := inspect.Describe(cl, kinds[want], types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()})
			if err != nil {
				return err
			}
			if err := (inspect.Output{}).Tree(out, tree); err != nil {
				return err
			}
		}
	}
	return nil
}
