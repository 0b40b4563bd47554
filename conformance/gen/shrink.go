package gen

import (
	"reflect"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Shrink returns a smaller case on which fails still reports true: it
// removes objects, then endpoints, ports, addresses and other list items,
// resets node flags to their defaults and drops optional fields, for as
// long as anything can be removed. Candidates on which kube-proxy would not
// be deterministic are skipped. maxTries bounds the calls to fails.
func Shrink(c *Case, fails func(*Case) bool, maxTries int) *Case {
	s := &shrinker{cur: c.Clone(), fails: fails, budget: maxTries}
	for s.budget > 0 {
		before := s.tries
		s.pass()
		if s.tries == before || !s.progress {
			break
		}
		s.progress = false
	}
	return s.cur
}

type shrinker struct {
	cur      *Case
	fails    func(*Case) bool
	budget   int
	tries    int
	progress bool
}

func (s *shrinker) try(cand *Case) bool {
	if s.budget <= 0 || !Deterministic(cand.Objects) {
		return false
	}
	s.budget--
	s.tries++
	if s.fails(cand) {
		s.cur = cand
		s.progress = true
		return true
	}
	return false
}

// shrinkList removes chunks of the list get returns (halves, quarters,
// ..., single items) while the case keeps failing.
func shrinkList[T any](s *shrinker, get func(c *Case) *[]T) {
	n := func() int {
		if l := get(s.cur); l != nil {
			return len(*l)
		}
		return 0
	}
	for size := n(); size >= 1; size /= 2 {
		for lo := 0; lo < n(); {
			hi := min(lo+size, n())
			cand := s.cur.Clone()
			l := get(cand)
			*l = append((*l)[:lo:lo], (*l)[hi:]...)
			if !s.try(cand) {
				lo += size
			}
		}
	}
}

func (s *shrinker) pass() {
	shrinkList(s, func(c *Case) *[]runtime.Object { return &c.Objects })
	for i := range s.cur.Objects {
		s.shrinkObject(i)
	}
	s.resetNodeFlags()
	for i := range s.cur.Objects {
		s.simplifyObject(i)
	}
}

func slice(c *Case, i int) *discovery.EndpointSlice {
	es, _ := c.Objects[i].(*discovery.EndpointSlice)
	return es
}

func service(c *Case, i int) *v1.Service {
	svc, _ := c.Objects[i].(*v1.Service)
	return svc
}

func endpoints(c *Case, i int) *v1.Endpoints {
	ep, _ := c.Objects[i].(*v1.Endpoints)
	return ep
}

// shrinkObject removes list items inside object i.
func (s *shrinker) shrinkObject(i int) {
	switch s.cur.Objects[i].(type) {
	case *discovery.EndpointSlice:
		shrinkList(s, func(c *Case) *[]discovery.Endpoint { return &slice(c, i).Endpoints })
		shrinkList(s, func(c *Case) *[]discovery.EndpointPort { return &slice(c, i).Ports })
	case *v1.Service:
		shrinkList(s, func(c *Case) *[]v1.ServicePort { return &service(c, i).Spec.Ports })
		shrinkList(s, func(c *Case) *[]string { return &service(c, i).Spec.ExternalIPs })
		shrinkList(s, func(c *Case) *[]string { return &service(c, i).Spec.LoadBalancerSourceRanges })
		shrinkList(s, func(c *Case) *[]v1.LoadBalancerIngress { return &service(c, i).Status.LoadBalancer.Ingress })
	case *v1.Endpoints:
		shrinkList(s, func(c *Case) *[]v1.EndpointSubset { return &endpoints(c, i).Subsets })
		for j := range endpoints(s.cur, i).Subsets {
			shrinkList(s, func(c *Case) *[]v1.EndpointAddress { return &endpoints(c, i).Subsets[j].Addresses })
			shrinkList(s, func(c *Case) *[]v1.EndpointAddress { return &endpoints(c, i).Subsets[j].NotReadyAddresses })
			shrinkList(s, func(c *Case) *[]v1.EndpointPort { return &endpoints(c, i).Subsets[j].Ports })
		}
	}
}

// resetNodeFlags puts each node flag back to its default.
func (s *shrinker) resetNodeFlags() {
	def := DefaultNode()
	for k, f := range def.flags() {
		if f.value() == s.cur.Node.flags()[k].value() {
			continue
		}
		cand := s.cur.Clone()
		if err := cand.Node.flags()[k].set(f.value()); err == nil {
			s.try(cand)
		}
	}
}

// simplifiers drop optional details of an object; each returns whether
// it changed anything.
var (
	serviceSimplifiers = []func(*v1.Service) bool{
		func(s *v1.Service) bool {
			ch := s.Spec.SessionAffinity == v1.ServiceAffinityClientIP
			s.Spec.SessionAffinity, s.Spec.SessionAffinityConfig = v1.ServiceAffinityNone, nil
			return ch
		},
		func(s *v1.Service) bool {
			ch := s.Spec.TrafficDistribution != nil
			s.Spec.TrafficDistribution = nil
			return ch
		},
		func(s *v1.Service) bool {
			ch := s.Spec.InternalTrafficPolicy != nil
			s.Spec.InternalTrafficPolicy = nil
			return ch
		},
		func(s *v1.Service) bool { ch := len(s.Labels) > 0; s.Labels = nil; return ch },
		func(s *v1.Service) bool {
			ch := s.Spec.SessionAffinity == v1.ServiceAffinityNone
			if ch {
				s.Spec.SessionAffinity = "" // the default
			}
			return ch
		},
		func(s *v1.Service) bool { ch := len(s.Spec.Selector) > 0; s.Spec.Selector = nil; return ch },
	}
	endpointSimplifiers = []func(*discovery.Endpoint) bool{
		func(e *discovery.Endpoint) bool { ch := e.Hints != nil; e.Hints = nil; return ch },
		func(e *discovery.Endpoint) bool { ch := e.Zone != nil; e.Zone = nil; return ch },
		func(e *discovery.Endpoint) bool { ch := e.TargetRef != nil; e.TargetRef = nil; return ch },
		func(e *discovery.Endpoint) bool { ch := e.NodeName != nil; e.NodeName = nil; return ch },
		func(e *discovery.Endpoint) bool { ch := len(e.Addresses) > 1; e.Addresses = e.Addresses[:1]; return ch },
		func(e *discovery.Endpoint) bool {
			old := e.Conditions
			e.Conditions = discovery.EndpointConditions{}
			return !reflect.DeepEqual(old, e.Conditions)
		},
	}
)

// simplifyObject drops optional details of object i (of every endpoint,
// for slices of at most 50 endpoints).
func (s *shrinker) simplifyObject(i int) {
	switch o := s.cur.Objects[i].(type) {
	case *v1.Service:
		for _, f := range serviceSimplifiers {
			cand := s.cur.Clone()
			if f(service(cand, i)) {
				s.try(cand)
			}
		}
	case *discovery.EndpointSlice:
		if _, ok := o.Labels[discovery.LabelManagedBy]; ok {
			cand := s.cur.Clone()
			delete(slice(cand, i).Labels, discovery.LabelManagedBy)
			s.try(cand)
		}
		if len(o.Endpoints) > 50 {
			return
		}
		for j := range o.Endpoints {
			for _, f := range endpointSimplifiers {
				cand := s.cur.Clone()
				if j < len(slice(cand, i).Endpoints) && f(&slice(cand, i).Endpoints[j]) {
					s.try(cand)
				}
			}
		}
	}
}
