package kubeproxy

// The proxiers' NewProxier constructors wire a few real host dependencies
// that they do not take as parameters: conntrack and nfacct netlink
// handles, the service health-check HTTP servers, the host's interface
// list, knftables (which execs nft) and ipvs's netlink handle. Right after
// construction, before anything syncs, those unexported fields are replaced
// with fakes from the kubernetes tree. setField panics when a field is
// missing or has another type, so a kube-proxy version bump that renames
// one fails loudly instead of touching the host.

import (
	"fmt"
	"reflect"
	"unsafe"
)

// fieldOf returns the settable field name of the struct *obj points to.
func fieldOf(obj any, name string) reflect.Value {
	rv := reflect.ValueOf(obj)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("kubeproxy: %T is not a pointer to a struct", obj))
	}
	f := rv.Elem().FieldByName(name)
	if !f.IsValid() {
		panic(fmt.Sprintf("kubeproxy: %T has no field %q (kube-proxy version drift?)", obj, name))
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// setField sets field name of *obj to value.
func setField(obj any, name string, value any) {
	f := fieldOf(obj, name)
	v := reflect.ValueOf(value)
	if !v.Type().AssignableTo(f.Type()) {
		panic(fmt.Sprintf("kubeproxy: cannot assign %s to %T.%s of type %s", v.Type(), obj, name, f.Type()))
	}
	f.Set(v)
}

// clearField sets field name of *obj to its zero value.
func clearField(obj any, name string) {
	f := fieldOf(obj, name)
	f.Set(reflect.Zero(f.Type()))
}

// closeNFAcct closes the netlink socket nfacct.New() opened inside
// iptables.NewProxier (the proxier never closes it; without this every
// proxier built would leak a file descriptor). obj.nfacct is a *runner
// whose handler holds the socket.
func closeNFAcct(proxier any) {
	v := fieldOf(proxier, "nfacct")
	if v.IsNil() {
		return // nfacct.New failed: the kernel has no nfnetlink_acct
	}
	v = v.Elem() // *runner
	if v.Kind() != reflect.Pointer {
		return
	}
	h := fieldOf(v.Interface(), "handler")
	if h.IsNil() || h.Elem().Kind() != reflect.Pointer {
		return
	}
	sock := fieldOf(h.Elem().Interface(), "socket")
	if c, ok := sock.Interface().(interface{ Close() }); ok && !sock.IsNil() {
		c.Close()
	}
}
