package gen

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/apis/core"
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"
	"k8s.io/kubernetes/pkg/apis/discovery"
	discoveryvalidation "k8s.io/kubernetes/pkg/apis/discovery/validation"

	_ "k8s.io/kubernetes/pkg/apis/core/install"
	_ "k8s.io/kubernetes/pkg/apis/discovery/install"
)

// TestGeneratedObjectsAreValid runs the API server's own validation on
// what the generator makes: every object must be one an API server would
// accept on create.
func TestGeneratedObjectsAreValid(t *testing.T) {
	for seed := uint64(1); seed <= 2000; seed++ {
		c := Generate(seed)
		for _, o := range c.Objects {
			obj := o.DeepCopyObject()
			legacyscheme.Scheme.Default(obj)
			var errs []string
			switch x := obj.(type) {
			case *v1.Service:
				completeLikeStorage(x)
				var in core.Service
				convert(t, x, &in)
				for _, e := range corevalidation.ValidateServiceCreate(&in) {
					errs = append(errs, e.Error())
				}
			case *discoveryv1.EndpointSlice:
				var in discovery.EndpointSlice
				convert(t, x, &in)
				for _, e := range discoveryvalidation.ValidateEndpointSliceCreate(&in) {
					errs = append(errs, e.Error())
				}
			case *v1.Endpoints:
				var in core.Endpoints
				convert(t, x, &in)
				for _, e := range corevalidation.ValidateEndpointsCreate(&in) {
					errs = append(errs, e.Error())
				}
			}
			if len(errs) > 0 {
				t.Errorf("seed %d: %T %s: %v\n%s", seed, o, objectName(o), errs, objectYAML(o))
			}
		}
		if t.Failed() {
			return
		}
	}
}

// completeLikeStorage derives what Service storage fills in before
// validation when a manifest gives only spec.clusterIP.
func completeLikeStorage(s *v1.Service) {
	sp := &s.Spec
	if sp.ClusterIP == "" || len(sp.ClusterIPs) > 0 {
		return
	}
	sp.ClusterIPs = []string{sp.ClusterIP}
	fam := v1.IPv4Protocol
	if strings.Contains(sp.ClusterIP, ":") {
		fam = v1.IPv6Protocol
	}
	sp.IPFamilies = []v1.IPFamily{fam}
	p := v1.IPFamilyPolicySingleStack
	sp.IPFamilyPolicy = &p
}

func objectName(o runtime.Object) string {
	if m, ok := o.(interface {
		GetNamespace() string
		GetName() string
	}); ok {
		return m.GetNamespace() + "/" + m.GetName()
	}
	return "?"
}

func convert(t *testing.T, in, out any) {
	t.Helper()
	if err := legacyscheme.Scheme.Convert(in, out, nil); err != nil {
		t.Fatal(err)
	}
}
