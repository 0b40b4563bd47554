package compiler

import (
	"errors"
	"fmt"
	"strings"

	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeproxyc/kubeproxyc/compiler/ir"
)

// checkValues checks the options given as free text: those written into
// the output (interface names, CIDRs; ipvs.go checks the scheduler) must be what the
// kernel and the tools take, so that no value can add a rule or a command;
// the node's name and zone must be what a Node object can carry, or no
// endpoint could ever match them. kube-proxy itself only checks that an
// interface name is not empty; an interface name with a blank or a quote
// would break its own iptables-restore input too.
func (o *Options) checkValues() error {
	var errs []error
	bad := func(flag, value, why string) {
		errs = append(errs, fmt.Errorf("%s: invalid value %q: %s", flag, truncate(value, 100), why))
	}
	if o.NodeName == "" {
		errs = append(errs, errors.New("--hostname-override: must not be empty"))
	}
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(o.NodeName, false) {
		if o.NodeName != "" {
			bad("--hostname-override", o.NodeName, "not a valid node name: "+msg)
		}
	}
	for _, msg := range validation.IsValidLabelValue(o.NodeZone) {
		bad("--node-zone", o.NodeZone, "not a valid topology.kubernetes.io/zone label value: "+msg)
	}
	if o.BridgeInterface != "" {
		if err := ir.CheckInterfaceName(o.BridgeInterface); err != nil {
			bad("--pod-bridge-interface", o.BridgeInterface, err.Error())
		}
	}
	if o.InterfaceNamePrefix != "" {
		if err := ir.CheckInterfaceName(o.InterfaceNamePrefix); err != nil {
			bad("--pod-interface-name-prefix", o.InterfaceNamePrefix, err.Error())
		}
	}
	for _, c := range o.PodCIDRs {
		if _, ok := ParseCIDRSloppy(strings.TrimSpace(c)); !ok {
			bad("--pod-cidr", c, "not a CIDR")
		}
	}
	for _, c := range o.ServiceCIDRs {
		if _, ok := ParseCIDRSloppy(strings.TrimSpace(c)); !ok {
			bad("--service-cidrs", c, "not a CIDR")
		}
	}
	return errors.Join(errs...)
}
