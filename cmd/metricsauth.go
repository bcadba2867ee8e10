package main

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// metricsAuth is the metrics endpoint's filter under --metrics-secure: a scraper sends a bearer
// token the API server authenticates (TokenReview) and must be allowed the request's verb on its
// path (SubjectAccessReview, a nonResourceURL rule such as the metrics-reader ClusterRole's).
// It does what controller-runtime's filters.WithAuthenticationAndAuthorization does, with the
// same cache lifetimes, without that package's dependency on k8s.io/apiserver: that dependency
// (with CEL, OpenTelemetry and gRPC behind it) made up a third of the binary's code and 8 MiB of
// the operator's resident memory (docs/performance.md).
func metricsAuth(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authnv1client.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authzv1client.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	a := &reviewer{
		tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews(),
		users: newTTLCache[authenticationv1.UserInfo](), decisions: newTTLCache[bool](), now: time.Now,
	}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
			if !ok || token == "" {
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			user, ok, err := a.authenticate(req, strings.TrimSpace(token))
			if err != nil {
				log.Error(err, "Authentication failed")
				http.Error(w, "Authentication failed", http.StatusInternalServerError)
				return
			}
			if !ok {
				http.Error(w, "Unauthorized", http.StatusUnauthorized)
				return
			}
			allowed, err := a.authorize(req, user)
			if err != nil {
				log.Error(err, "Authorization failed", "user", user.Username)
				http.Error(w, fmt.Sprintf("Authorization for user %s failed", user.Username), http.StatusInternalServerError)
				return
			}
			if !allowed {
				http.Error(w, fmt.Sprintf("Authorization denied for user %s", user.Username), http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, req)
		}), nil
	}, nil
}

// Cache lifetimes, controller-runtime's: a scraper every 15 s costs the API server a review a
// minute, and a revoked token or role stops working within that time.
const (
	tokenTTL = time.Minute
	allowTTL = 5 * time.Minute
	denyTTL  = 30 * time.Second
)

type reviewer struct {
	tokens    authnv1client.TokenReviewInterface
	access    authzv1client.SubjectAccessReviewInterface
	users     *ttlCache[authenticationv1.UserInfo]
	decisions *ttlCache[bool]
	now       func() time.Time
}

// authenticate asks the API server who token is (a failed review is not cached).
func (a *reviewer) authenticate(req *http.Request, token string) (authenticationv1.UserInfo, bool, error) {
	key := fmt.Sprintf("%x", sha256.Sum256([]byte(token)))
	if u, ok := a.users.get(key, a.now()); ok {
		return u, u.Username != "", nil
	}
	r, err := a.tokens.Create(req.Context(), &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, false, err
	}
	user := authenticationv1.UserInfo{}
	if r.Status.Authenticated {
		user = r.Status.User
	}
	a.users.put(key, user, a.now().Add(tokenTTL))
	return user, user.Username != "", nil
}

// authorize asks the API server whether user may send req (verb and path).
func (a *reviewer) authorize(req *http.Request, user authenticationv1.UserInfo) (bool, error) {
	verb := strings.ToLower(req.Method)
	key := strings.Join([]string{user.Username, user.UID, strings.Join(user.Groups, ","), verb, req.URL.Path}, "\x00")
	if d, ok := a.decisions.get(key, a.now()); ok {
		return d, nil
	}
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	r, err := a.access.Create(req.Context(), &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: req.URL.Path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	ttl := denyTTL
	if r.Status.Allowed {
		ttl = allowTTL
	}
	a.decisions.put(key, r.Status.Allowed, a.now().Add(ttl))
	return r.Status.Allowed, nil
}

// ttlCache is a map whose entries expire; expired entries are dropped when the map is written.
type ttlCache[V any] struct {
	mu sync.Mutex
	m  map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[V any]() *ttlCache[V] { return &ttlCache[V]{m: map[string]ttlEntry[V]{}} }

func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(key string, v V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if expires.After(e.expires.Add(allowTTL)) {
			delete(c.m, k)
		}
	}
	c.m[key] = ttlEntry[V]{v: v, expires: expires}
}
