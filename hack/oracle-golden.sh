#!/usr/bin/env bash
# Writes a golden file of a case from kube-proxy itself, through the
# oracle (../shared/oracle, built as `oracle` on PATH):
#   hack/oracle-golden.sh testdata/cases/NAME MODE FAMILY
# MODE is iptables, ipvs or nftables; FAMILY is ipv4 or ipv6. The case's
# flags file (kubeproxyc flag names) is translated to the oracle's flags.
set -euo pipefail
dir=$1 mode=$2 family=$3
args=(-mode "$mode" -f "$dir/input.yaml")
[ "$family" = ipv6 ] && args+=(-ipfamily 6)
if [ -f "$dir/oracle-flags" ]; then
	read -r -a extra < "$dir/oracle-flags"
	oracle "${args[@]}" "${extra[@]}" 2>/dev/null > "$dir/$mode-$family.golden"
	exit 0
fi
read -r -a flags < <(cat "$dir/flags" 2>/dev/null || true; echo)
i=0
while [ $i -lt ${#flags[@]} ]; do
	f=${flags[$i]} v=
	case $f in
	--*=*) v=${f#*=}; f=${f%%=*} ;;
	--masquerade-all|--random-fully|--nfacct|--conntrack-tcp-be-liberal|--iptables-localhost-nodeports|--ipvs-strict-arp) v=true ;;
	*) i=$((i+1)); v=${flags[$i]:-} ;;
	esac
	i=$((i+1))
	case $f in
	--hostname-override) args+=(-hostname "$v") ;;
	--node-ip)
		# the oracle's -node-ip is the primary IP of the rendered family
		primary=
		for ip in ${v//,/ }; do
			case $family,$ip in ipv6,*:*|ipv4,*.*) primary=${primary:-$ip} ;; esac
		done
		[ -n "$primary" ] && args+=(-node-ip "$primary")
		args+=(-node-addresses "$v") ;;
	--node-zone) args+=(-zone "$v") ;;
	--iptables-masquerade-bit) args+=(-masquerade-bit "$v") ;;
	--iptables-localhost-nodeports) args+=(-localhost-nodeports="$v") ;;
	--masquerade-all|--random-fully|--nfacct|--conntrack-tcp-be-liberal|--ipvs-strict-arp) args+=("-${f#--}=$v") ;;
	--cluster-cidr|--nodeport-addresses|--ipvs-scheduler|--ipvs-exclude-cidrs|--service-cidrs|--feature-gates) args+=("-${f#--}" "$v") ;;
	*) echo "hack/oracle-golden.sh: the oracle has no equivalent of $f" >&2; exit 2 ;;
	esac
done
oracle "${args[@]}" 2>/dev/null > "$dir/$mode-$family.golden"
