package api

import (
	"slices"

	"github.com/brightkitchen/brightkitchen/fleet/auth"
)

// Permission names something a principal may do. The routes check them
// (authorize) and GET /api/v1/me lists a principal's, so that the web UI
// shows what the API allows without repeating the role rules. Which
// canteens a permission reaches is a separate matter: the principal's
// scope, checked by the handlers and given in /me.
type Permission string

// The permissions. Each names the routes it opens.
const (
	// PermLive: watch a camera live (POST/DELETE /whep/…, GET
	// /api/v1/cameras/{camera}); a parent only the public cameras of the
	// school, within its viewing windows.
	PermLive Permission = "live.watch"
	// PermCanteenView: one canteen and its cameras (GET
	// /api/v1/canteens/{id}, …/cameras).
	PermCanteenView Permission = "canteen.view"
	// PermCanteenList: the canteen list (GET /api/v1/canteens).
	PermCanteenList Permission = "canteens.list"
	// PermCanteenManage: register, edit and import canteens (POST
	// /api/v1/canteens, …/import).
	PermCanteenManage Permission = "canteens.manage"
	// PermViewing: set a canteen's parent viewing windows (PUT
	// /api/v1/canteens/{id}/viewing).
	PermViewing Permission = "canteens.viewing"
	// PermInvites: list and make parent invites (…/invites).
	PermInvites Permission = "invites.manage"
	// PermEnrol: make, list and revoke a canteen's gateway enrolment
	// codes (…/enrolment-codes); an operator for its own canteens.
	PermEnrol Permission = "gateways.enrol"
	// PermCameraMap: map a camera to an area, make it public (PUT
	// /api/v1/cameras/{camera}).
	PermCameraMap Permission = "cameras.map"
	// PermGatewayList: the gateways and their cameras' health (GET
	// /api/v1/gateways).
	PermGatewayList Permission = "gateways.list"
	// PermGatewayManage: bind a gateway, send it any command and configs.
	PermGatewayManage Permission = "gateways.manage"
	// PermGatewayOps: the remote operations on the gateways in scope
	// (POST …/commands with restart, reboot, logs.upload, snapshot,
	// camera.probe or ping; the uploaded logs, …/logs). The command
	// history and snapshots (GET …/commands, …/snapshots) are
	// PermGatewayList's.
	PermGatewayOps Permission = "gateways.operate"
	// PermAlarmView: alarms, their snapshots and rectification photos.
	PermAlarmView Permission = "alarms.view"
	// PermAlarmReview: confirm or dismiss a new alarm, accept or reject
	// a rectification (…/review, …/decision).
	PermAlarmReview Permission = "alarms.review"
	// PermAlarmRectify: answer a confirmed alarm (…/rectification).
	PermAlarmRectify Permission = "alarms.rectify"
	// PermNotices: the notices of violations to rectify (/api/v1/notices).
	PermNotices Permission = "notices.read"
	// PermDashboard: the dashboard (GET /api/v1/dashboard).
	PermDashboard Permission = "dashboard.view"
	// PermCoverage: coverage rates and their exports (GET /api/v1/coverage).
	PermCoverage Permission = "coverage.view"
	// PermAudit: the audit log (GET /api/v1/audit).
	PermAudit Permission = "audit.view"
	// PermUserList: list and remove users (an operator only the parents
	// of its canteens).
	PermUserList Permission = "users.list"
	// PermUserAdd: add users of any role (POST /api/v1/users).
	PermUserAdd Permission = "users.add"
	// PermPush: the instant push (/api/v1/push/…): the channels one may
	// see, one's own robots and subscriptions, the delivery log of one's
	// scope; shared channels are an admin's (push.go).
	PermPush Permission = "push.subscribe"
	// Complaints (投诉举报). PermComplaintView: the tickets of one's scope
	// (GET /api/v1/complaints, …/{id}, …/photo), the contact and filer
	// only to those with PermComplaintHandle. PermComplaintHandle:
	// accept, handle, reply, reject (POST …/{id}/{action}).
	// PermComplaintAccount: the canteen's account (POST …/{id}/account).
	// PermComplaintPoster: the dining-hall poster's QR code (GET
	// /api/v1/canteens/{id}/complaint-qr.png).
	PermComplaintView    Permission = "complaints.view"
	PermComplaintHandle  Permission = "complaints.handle"
	PermComplaintAccount Permission = "complaints.account"
	PermComplaintPoster  Permission = "complaints.poster"
	// PermPublicity: change a canteen's public notice (PUT
	// /api/v1/canteens/{id}/publicity): an operator its licence and person
	// in charge, a regulator its grade and inspection, an admin all
	// (kitchens.go).
	PermPublicity Permission = "canteens.publicity"
	// PermMetrics: the Prometheus metrics (GET /metrics).
	PermMetrics Permission = "metrics.view"
	// PermReleases: upload, list and delete releases, make, follow,
	// pause, resume, advance and abort rollouts (/api/v1/releases,
	// /api/v1/rollouts).
	PermReleases Permission = "releases.manage"

	// The UI's two homes for the principals bound to canteens: no route
	// checks them; they say which pages the UI offers. PermCanteenWork:
	// the canteen operator's page (notices, viewing windows, invites).
	// PermParentView: the parent's page of the school's public cameras.
	PermCanteenWork Permission = "canteen.work"
	PermParentView  Permission = "parent.view"
)

// permissions is who may do what: the one table the routes and /me read.
var permissions = []struct {
	perm  Permission
	roles []string
}{
	{PermLive, auth.Roles},
	{PermCanteenView, auth.Roles},
	{PermCanteenList, staff},
	{PermCanteenManage, admins},
	{PermViewing, operators},
	{PermInvites, operators},
	{PermEnrol, operators},
	{PermCameraMap, operators},
	{PermGatewayList, staff},
	{PermGatewayManage, admins},
	{PermGatewayOps, operators},
	{PermAlarmView, staff},
	{PermAlarmReview, regulators},
	{PermAlarmRectify, operators},
	{PermNotices, operators},
	{PermDashboard, regulators},
	{PermCoverage, regulators},
	{PermAudit, regulators},
	{PermUserList, operators},
	{PermUserAdd, admins},
	{PermPush, staff},
	// Complaints.
	{PermComplaintView, staff},
	{PermComplaintHandle, regulators},
	{PermComplaintAccount, operators},
	{PermComplaintPoster, operators},
	{PermPublicity, staff},
	{PermMetrics, admins},
	{PermReleases, admins},
	{PermCanteenWork, []string{auth.RoleOperator}},
	{PermParentView, []string{auth.RoleParent}},
}

// The role groups of the table.
var (
	admins     = []string{auth.RoleAdmin}
	staff      = []string{auth.RoleAdmin, auth.RoleRegulator, auth.RoleOperator}
	regulators = []string{auth.RoleAdmin, auth.RoleRegulator}
	operators  = []string{auth.RoleAdmin, auth.RoleOperator}
)

// RoleMay says whether role has perm; an unknown permission is nobody's.
func RoleMay(role string, perm Permission) bool {
	for _, p := range permissions {
		if p.perm == perm {
			return slices.Contains(p.roles, role)
		}
	}
	return false
}

// Permissions lists role's permissions in the order of the table.
func Permissions(role string) []Permission {
	out := []Permission{}
	for _, p := range permissions {
		if slices.Contains(p.roles, role) {
			out = append(out, p.perm)
		}
	}
	return out
}

// Can says whether p has perm.
func (p Principal) Can(perm Permission) bool { return RoleMay(p.Role, perm) }
