package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
)

// TestMePermissions: /me lists each role's permissions from the table
// the routes check, and its scope; each route refuses exactly the roles
// the table does not give its permission.
func TestMePermissions(t *testing.T) {
	w := newWorld(t)
	who := map[string]string{"admin": auth.RoleAdmin, "regulator": auth.RoleRegulator, "city": auth.RoleRegulator,
		"operatorA": auth.RoleOperator, "parentA": auth.RoleParent}
	scopes := map[string]MeScope{
		"admin": {}, "city": {},
		"regulator": {Districts: []string{"xuhui"}},
		"operatorA": {Canteens: []string{"A"}},
		"parentA":   {Canteens: []string{"A"}},
	}
	for name, role := range who {
		status, body := w.req(t, name, "GET", "/api/v1/me", "", nil)
		var me Me
		if status != 200 || json.Unmarshal([]byte(body), &me) != nil {
			t.Fatalf("%s: /me %d %s", name, status, body)
		}
		if me.Role != role || !slices.Equal(me.Permissions, Permissions(role)) {
			t.Errorf("%s: /me says %s may %v; want %v", name, me.Role, me.Permissions, Permissions(role))
		}
		if want := scopes[name]; !slices.Equal(me.Scope.Canteens, want.Canteens) || !slices.Equal(me.Scope.Districts, want.Districts) ||
			(me.Scope.Canteens == nil) != (want.Canteens == nil) || (me.Scope.Districts == nil) != (want.Districts == nil) {
			t.Errorf("%s: scope %+v, want %+v", name, me.Scope, want)
		}
	}
	if got := Permissions(auth.RoleAdmin); len(got) != len(permissions)-2 {
		t.Errorf("admin has %d of %d permissions (all but the two canteen homes)", len(got), len(permissions))
	}

	a := "/api/v1/violations/1"
	routes := []struct {
		perm               Permission
		method, path, body string
	}{
		{PermLive, "GET", "/api/v1/cameras/pub-A", ""},
		{PermLive, "POST", "/whep/pub-A", ""},
		{PermCanteenView, "GET", "/api/v1/canteens/A", ""},
		{PermCanteenView, "GET", "/api/v1/canteens/A/cameras", ""},
		{PermCanteenList, "GET", "/api/v1/canteens", ""},
		{PermCanteenManage, "POST", "/api/v1/canteens", "{"},
		{PermCanteenManage, "POST", "/api/v1/canteens/import", ""},
		{PermViewing, "PUT", "/api/v1/canteens/A/viewing", "{"},
		{PermInvites, "GET", "/api/v1/canteens/A/invites", ""},
		{PermInvites, "POST", "/api/v1/canteens/A/invites", "{"},
		{PermEnrol, "GET", "/api/v1/canteens/A/enrolment-codes", ""},
		{PermEnrol, "POST", "/api/v1/canteens/A/enrolment-codes", "{"},
		{PermEnrol, "DELETE", "/api/v1/canteens/A/enrolment-codes/nope", ""},
		{PermCameraMap, "PUT", "/api/v1/cameras/pub-A", "{"},
		{PermGatewayList, "GET", "/api/v1/gateways", ""},
		{PermGatewayManage, "PUT", "/api/v1/gateways/gw-A", "{"},
		{PermGatewayOps, "POST", "/api/v1/gateways/gw-A/commands", "{"},
		{PermGatewayList, "GET", "/api/v1/gateways/gw-A/commands", ""},
		{PermGatewayList, "GET", "/api/v1/gateway-alarms", ""},
		{PermGatewayList, "GET", "/api/v1/gateways/gw-A/commands/nope", ""},
		{PermGatewayList, "GET", "/api/v1/gateways/gw-A/snapshots/nope", ""},
		{PermGatewayOps, "GET", "/api/v1/gateways/gw-A/logs", ""},
		{PermGatewayOps, "GET", "/api/v1/gateways/gw-A/logs/nope", ""},
		{PermGatewayManage, "PUT", "/api/v1/gateways/gw-A/config", "{"},
		{PermAlarmView, "GET", "/api/v1/violations", ""},
		{PermAlarmView, "GET", a, ""},
		{PermAlarmView, "GET", a + "/snapshot", ""},
		{PermAlarmView, "GET", a + "/rectifications/1/photo", ""},
		{PermAlarmReview, "POST", a + "/review", "{"},
		{PermAlarmReview, "POST", a + "/decision", "{"},
		{PermAlarmRectify, "POST", a + "/rectification", ""},
		{PermNotices, "GET", "/api/v1/notices", ""},
		{PermNotices, "POST", "/api/v1/notices/1/read", ""},
		{PermDashboard, "GET", "/api/v1/dashboard", ""},
		{PermCoverage, "GET", "/api/v1/coverage", ""},
		{PermAudit, "GET", "/api/v1/audit", ""},
		{PermUserList, "GET", "/api/v1/users", ""},
		{PermUserList, "DELETE", "/api/v1/users/nobody", ""},
		{PermUserAdd, "POST", "/api/v1/users", "{"},
		{PermReleases, "GET", "/api/v1/releases", ""},
		{PermReleases, "POST", "/api/v1/rollouts", "{"},
		{PermPush, "GET", "/api/v1/push/channels", ""},
		{PermPush, "POST", "/api/v1/push/channels", "{"},
		{PermPush, "PUT", "/api/v1/push/channels/nope", "{"},
		{PermPush, "DELETE", "/api/v1/push/channels/nope", ""},
		{PermPush, "GET", "/api/v1/push/subscriptions", ""},
		{PermPush, "PUT", "/api/v1/push/subscriptions/nope", "{"},
		{PermPush, "DELETE", "/api/v1/push/subscriptions/nope", ""},
		{PermPush, "GET", "/api/v1/push/deliveries", ""},
		{PermComplaintView, "GET", "/api/v1/complaints", ""},
		{PermComplaintView, "GET", "/api/v1/complaints/1", ""},
		{PermComplaintView, "GET", "/api/v1/complaints/1/photo", ""},
		{PermComplaintHandle, "POST", "/api/v1/complaints/1/accept", "{"},
		{PermComplaintHandle, "POST", "/api/v1/complaints/1/reply", "{"},
		{PermComplaintAccount, "POST", "/api/v1/complaints/1/account", "{"},
		{PermComplaintPoster, "GET", "/api/v1/canteens/A/complaint-qr.png", ""},
		{PermCanteenView, "GET", "/api/v1/canteens/A/publicity", ""},
		{PermPublicity, "PUT", "/api/v1/canteens/A/publicity", "{"},
		{signedIn, "GET", "/api/v1/me", ""},
		{signedIn, "GET", "/api/v1/violation-types", ""},
	}
	covered := map[Permission]bool{}
	for _, r := range routes {
		covered[r.perm] = true
		for name, role := range who {
			ct := ""
			if r.body != "" {
				ct = "application/json"
			}
			status, body := w.req(t, name, r.method, r.path, ct, []byte(r.body))
			refused := status == 403 && strings.Contains(body, "may not do this")
			if want := r.perm != signedIn && !RoleMay(role, r.perm); refused != want {
				t.Errorf("%s %s as %s (%s): %d %.200s; refused by role: %v, want %v", r.method, r.path, name, r.perm, status, body, refused, want)
			}
		}
	}
	for _, p := range permissions {
		if !covered[p.perm] && p.perm != PermMetrics && p.perm != PermCanteenWork && p.perm != PermParentView {
			t.Errorf("no route of %s checked", p.perm)
		}
	}
}
