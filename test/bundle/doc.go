// Package bundle holds the tests of the two install paths: the kustomize configuration
// (`kubectl apply -k config/default`) and the OLM bundle that `make bundle` generates from it.
// They check that the committed bundle is what the generator writes, that operator-framework's
// validators accept it, that both paths carry the same least-privilege RBAC, that the CSV's
// descriptors match the CRD, that the manager Deployment is hardened, that the image build is
// static and non-root, and that every rendered object is accepted by a real API server.
package bundle
