#!/usr/bin/env bash
# Runs the demo on loopback: a simulated camera with kitchens (one of them
# watched by the demo AI model), the fleet with its embedded broker, and one
# gateway. Ctrl-C stops everything.
# Ports can be moved with DEMO_HTTP, DEMO_MQTT, DEMO_RTSP, DEMO_GW_HTTP.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
HTTP=${DEMO_HTTP:-127.0.0.1:8080}
MQTT=${DEMO_MQTT:-127.0.0.1:1883}
RTSP=${DEMO_RTSP:-127.0.0.1:8554}
GW_HTTP=${DEMO_GW_HTTP:-127.0.0.1:8081}
# A bare port means 127.0.0.1:PORT.
hostport() { case $1 in *[!0-9]*) echo "$1" ;; *) echo "127.0.0.1:$1" ;; esac; }
HTTP=$(hostport "$HTTP"); MQTT=$(hostport "$MQTT"); RTSP=$(hostport "$RTSP"); GW_HTTP=$(hostport "$GW_HTTP")
DIR=${DEMO_DIR:-$(mktemp -d -t bk-demo.XXXXXX)}
mkdir -p "$DIR"
TOKEN=${BK_ADMIN_TOKEN:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping demo..."
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo stopped; its data is in $DIR"
  exit 0
}
trap cleanup INT TERM EXIT

"$BIN/bk-camsim" --listen "$RTSP" --gop 2 --camera cam-hot=kitchen --camera cam-wash=empty --camera cam-line=no-hat \
  >"$DIR/camsim.log" 2>&1 &
pids+=($!)

if [ ! -f "$DIR/gw-demo.json" ]; then
  "$BIN/bk-fleet" gateway add --id gw-demo --canteen canteen-demo --json --data "$DIR/fleet" >"$DIR/gw-demo.json"
fi
# Web UI users; passwords are made once per demo dir and printed below.
adduser() { # login role flags...
  local login=$1 pw
  pw=$(head -c 9 /dev/urandom | base64 | tr '+/' '-_')
  echo "$pw" | "$BIN/bk-fleet" user add --login "$login" --role "$2" --data "$DIR/fleet" "${@:3}" >/dev/null
  echo "$login $pw" >>"$DIR/users.txt"
}
if [ ! -f "$DIR/users.txt" ]; then
  : >"$DIR/users.txt"
  adduser regulator regulator --district '*' --name 李科长
  adduser operator operator --canteen canteen-demo --name 张经理
fi
user=$(sed -n 's/.*"username":"\([^"]*\)".*/\1/p' "$DIR/gw-demo.json")
pass=$(sed -n 's/.*"password":"\([^"]*\)".*/\1/p' "$DIR/gw-demo.json")

BK_ADMIN_TOKEN=$TOKEN "$BIN/bk-fleet" serve --http "$HTTP" --mqtt-listen "$MQTT" --data "$DIR/fleet" \
  >"$DIR/fleet.log" 2>&1 &
pids+=($!)

cat >"$DIR/gateway.yaml" <<YAML
gateway:
  id: gw-demo
broker:
  url: tcp://$MQTT
  username: $user
  password: $pass
spool:
  path: $DIR/spool.db
http:
  listen: $GW_HTTP
uplink:
  heartbeat: 10s
plugin_dir: $(cd "$BIN" && pwd)
# The AI camera's detector: the demo model, trained on camsim's drawn
# kitchens only (models/demo/README.md), chosen by name and checksum as the
# fleet would push it.
model_dir: $PWD/models/demo
models:
  onnx: {name: camsim-demo, sha256: $(sha256sum models/demo/camsim-demo.onnx | cut -d' ' -f1)}
plugins:
  - name: tamper
  - name: motion
  - name: onnx
cameras:
  - id: cam-line
    name: 切配间 (AI 演示模型)
    url: rtsp://$RTSP/cam-line
    area: rough_processing
    public: true
    detect:
$(grep -v '^#' models/demo/rules.yaml | sed 's/^/      /')
  - id: cam-hot
    name: 热菜间
    url: rtsp://$RTSP/cam-hot
    area: cooking
    public: true
    detect:
      plugins: [{name: tamper}]
      rules: [{type: camera_occluded}, {type: camera_dark}, {type: camera_frozen}, {type: camera_blurred}]
  - id: cam-wash
    name: 洗消间
    url: rtsp://$RTSP/cam-wash
    area: washing
    detect:
      plugins: [{name: tamper}]
      rules: [{type: camera_occluded}, {type: camera_dark}, {type: camera_blurred}]
  - id: cam-store
    name: 库房 (镜头被遮挡)
    url: rtsp://$RTSP/covered
    area: storage
    detect:
      plugins: [{name: tamper}]
      rules: [{type: camera_occluded}, {type: camera_dark}]
  - id: cam-night
    name: 后厨夜间 (闭店时段)
    url: rtsp://$RTSP/night
    area: cooking
    detect:
      plugins: [{name: motion}]
      schedule: {hours: ["$(TZ=Asia/Shanghai date -d '+2 hour' +%H):00-$(TZ=Asia/Shanghai date -d '+3 hour' +%H):00"]}
      rules: [{type: after_hours_motion, zone: [[0,0.3],[1,0.3],[1,1],[0,1]]}]
YAML
# ONNX Runtime for the AI camera's detector, as make deps fetched it.
BK_ONNXRUNTIME_LIB=$PWD/third_party/onnxruntime/linux-$(go env GOARCH)/libonnxruntime.so.1 \
  "$BIN/bk-gateway" run --config "$DIR/gateway.yaml" >"$DIR/gateway.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS "http://$HTTP/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

# The registry: the demo canteen is a school in 徐汇区, open 06:00-20:00,
# parents may watch 07:00-19:00; the cameras mapped to its kitchen areas.
api() { curl -fsS -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "http://$HTTP$2" -d "$3"; }
day='["07:00-19:00"]'
api POST /api/v1/canteens '{"id":"canteen-demo","name":"徐汇区实验小学食堂","category":"school","district":"徐汇区",
  "address":"漕溪北路 1 号","required_areas":["rough_processing","cooking","washing"],
  "operating_hours":[["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"],["06:00-20:00"]],
  "viewing_windows":['"$day,$day,$day,$day,$day,$day,$day"']}' >/dev/null
invite=""
for _ in $(seq 1 50); do # the cameras are known after the gateway's first heartbeat
  if api PUT /api/v1/cameras/cam-hot '{"area":"cooking","public":true}' >/dev/null 2>&1; then
    api PUT /api/v1/cameras/cam-line '{"area":"rough_processing","public":true}' >/dev/null 2>&1 || true
    api PUT /api/v1/cameras/cam-wash '{"area":"washing","public":false}' >/dev/null 2>&1 || true
    invite=$(api POST /api/v1/canteens/canteen-demo/invites '{"label":"demo parents"}' | sed -n 's/.*"code":"\([^"]*\)".*/\1/p')
    break
  fi
  sleep 0.3
done

cat <<MSG

BrightKitchen demo is running (logs in $DIR).
  Web UI:           http://$HTTP/   log in as (login password):
$(sed 's/^/                      /' "$DIR/users.txt")
  Parents:          http://$HTTP/#/join with the access code ${invite:-(none: cameras not up yet)}
  Admin API token:  $TOKEN     e.g. curl -H 'Authorization: Bearer $TOKEN' http://$HTTP/api/v1/gateways
  Gateway status:   http://$GW_HTTP/
  Cameras (RTSP):   rtsp://$RTSP/cam-hot  rtsp://$RTSP/cam-wash  rtsp://$RTSP/cam-line
  AI camera:        cam-line (切配间) plays camsim's no-hat scene; within a few seconds a
                    未戴厨师帽 (no_chef_hat) alarm arrives with its snapshot. Its model is
                    the demo model: it knows camsim's drawn cooks, not real kitchens.
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}" || true
echo "a demo process exited; see the logs in $DIR" >&2
