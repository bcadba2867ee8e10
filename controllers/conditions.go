package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// mergeConditions returns existing with each of desired set in it, and whether anything changed.
// lastTransitionTime moves to now only when a condition's status changes, so a reconcile that
// finds the same verdict writes nothing.
func mergeConditions(existing, desired []metav1.Condition, now metav1.Time) ([]metav1.Condition, bool) {
	out := append([]metav1.Condition(nil), existing...)
	changed := false
	for _, d := range desired {
		cur := meta.FindStatusCondition(out, d.Type)
		if cur != nil && cur.Status == d.Status && cur.Reason == d.Reason && cur.Message == d.Message &&
			cur.ObservedGeneration == d.ObservedGeneration {
			continue
		}
		d.LastTransitionTime = now
		meta.SetStatusCondition(&out, d)
		changed = true
	}
	return out, changed
}
