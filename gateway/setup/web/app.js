// The gateway's setup page: sign in, find cameras (ONVIF), probe them,
// name and map them, save. No external assets; zh-CN first, English too.
"use strict";
(function () {
  var T = {
    zh: {
      title: "网关设置", signin: "登录", signin_hint: "输入网关首次启动时打印的设置密码，或平台发放的注册码。",
      password: "设置密码", signin_btn: "登录", code: "注册码", code_btn: "用注册码登录",
      configured: "已配置的摄像头", no_cameras: "还没有摄像头。", find: "查找摄像头",
      discover: "搜索局域网摄像头 (ONVIF)", manual: "手动添加",
      manual_addr: "摄像头地址（IP、ONVIF 地址或 rtsp:// 地址）", user: "用户名", pass: "密码", connect: "连接",
      camera: "摄像头", cam_id: "编号", cam_name: "名称", cam_area: "区域", cam_public: "向家长公开（明厨亮灶直播）",
      cam_live: "直播码流", main: "主码流", sub: "子码流", detectors: "检测", save: "保存并应用", cancel: "取消",
      signout: "退出", edit: "修改", remove: "删除", searching: "正在搜索…", found: "找到 {n} 台摄像头",
      none_found: "没有找到摄像头。可手动添加。", refused: "忽略了 {n} 个无效应答",
      connecting: "正在连接摄像头…", probing: "正在检测码流…", saved: "已保存并生效",
      saving: "正在保存…", public_yes: "公开", public_no: "不公开", area_none: "未设置区域",
      confirm_remove: "删除摄像头 {id}？", wrong_password: "密码错误", rate_limited: "错误次数过多，请稍后再试（{s} 秒）",
      camera_auth: "摄像头拒绝了用户名或密码", need_id: "请填写编号", no_preview: "无法生成预览：",
      tamper: "遮挡、黑屏、模糊、画面冻结", motion: "移动侦测", onnx: "AI 识别（帽子、口罩、工作服等）",
      streams: "码流", probe: "检测", bad_code: "注册码无效", enrol_unavailable: "此网关不支持注册码，请用设置密码",
      fleet: "平台地址", missing_fleet: "请填写平台地址和注册码", enrolled_already: "网关已注册，请用设置密码登录",
      enrolled: "已注册为食堂 {c} 的网关 {g}。网关正在重启，约半分钟后请用设置密码登录：{pw}（请记下）"
    },
    en: {
      title: "Gateway setup", signin: "Sign in", signin_hint: "Enter the setup password the gateway printed on first start, or an enrolment code from the fleet.",
      password: "Setup password", signin_btn: "Sign in", code: "Enrolment code", code_btn: "Sign in with the code",
      configured: "Cameras", no_cameras: "No cameras yet.", find: "Find cameras",
      discover: "Search the LAN (ONVIF)", manual: "Add by hand",
      manual_addr: "Camera address (IP, ONVIF address or rtsp:// URL)", user: "User name", pass: "Password", connect: "Connect",
      camera: "Camera", cam_id: "Id", cam_name: "Name", cam_area: "Area", cam_public: "Public (parents may watch)",
      cam_live: "Live view stream", main: "Main stream", sub: "Sub-stream", detectors: "Detection", save: "Save and apply", cancel: "Cancel",
      signout: "Sign out", edit: "Edit", remove: "Remove", searching: "Searching…", found: "Found {n} cameras",
      none_found: "No camera found. Add one by hand.", refused: "ignored {n} bad answers",
      connecting: "Connecting to the camera…", probing: "Probing the stream…", saved: "Saved and applied",
      saving: "Saving…", public_yes: "public", public_no: "not public", area_none: "no area",
      confirm_remove: "Remove camera {id}?", wrong_password: "Wrong password", rate_limited: "Too many wrong attempts; try again in {s} s",
      camera_auth: "The camera refused the user name or password", need_id: "Enter an id", no_preview: "No preview: ",
      tamper: "covered, dark, blurred, frozen picture", motion: "motion", onnx: "AI (hats, masks, uniforms…)",
      streams: "Streams", probe: "Probe", bad_code: "The enrolment code was not accepted", enrol_unavailable: "This gateway takes no enrolment code; use the setup password",
      fleet: "Fleet address", missing_fleet: "Enter the fleet's address and the code", enrolled_already: "This gateway is enrolled already; sign in with the setup password",
      enrolled: "Enrolled as gateway {g} of canteen {c}. The gateway is restarting; in about half a minute sign in with the setup password: {pw} (write it down)"
    }
  };
  // zh-CN first, whatever the browser says; the switch is remembered.
  var lang = localStorage.getItem("bk-setup-lang") || "zh";
  var st = { cameras: [], plugins: [], areas: [], cam: null };

  function $(id) { return document.getElementById(id); }
  function t(k, v) {
    var s = (T[lang][k] || T.zh[k] || k);
    for (var n in (v || {})) s = s.replace("{" + n + "}", v[n]);
    return s;
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var a in (attrs || {})) e.setAttribute(a, attrs[a]);
    if (text != null) e.textContent = text;
    return e;
  }
  function translate() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach(function (e) { e.textContent = t(e.getAttribute("data-i18n")); });
    $("lang").textContent = lang === "zh" ? "English" : "中文";
    document.title = t("title") + " · BrightKitchen";
    if (!$("main").hidden) render();
  }

  function api(method, path, body) {
    var opt = { method: method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
    return fetch("/setup/api/" + path, opt).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (r.status === 401 && j.code === "signed_out") { show(false); }
        if (!r.ok) { var e = new Error(j.error || ("HTTP " + r.status)); e.code = j.code; e.status = r.status; e.retry = r.headers.get("Retry-After"); throw e; }
        return j;
      });
    });
  }
  function errText(e) {
    if (e.code === "bad_password") return t("wrong_password");
    if (e.code === "rate_limited") return t("rate_limited", { s: e.retry || "?" });
    if (e.code === "camera_auth") return t("camera_auth");
    if (e.code === "bad_code") return t("bad_code");
    if (e.code === "enrol_unavailable") return t("enrol_unavailable");
    if (e.code === "missing_fleet") return t("missing_fleet");
    if (e.code === "enrolled") return t("enrolled_already");
    return e.message;
  }
  function msg(id, text, cls) { var m = $(id); m.textContent = text; m.className = cls || "hint"; }

  function show(signedIn) {
    $("login").hidden = signedIn;
    $("main").hidden = !signedIn;
    if (!signedIn) { $("password").focus(); }
  }
  function load() {
    return api("GET", "state").then(function (s) {
      st.cameras = s.cameras; st.plugins = s.plugins; st.areas = s.areas;
      $("gateway-id").textContent = s.gateway_id;
      show(true); render();
    }, function () { show(false); });
  }

  function render() {
    var ul = $("cameras"); ul.textContent = "";
    $("no-cameras").hidden = st.cameras.length > 0;
    st.cameras.forEach(function (c) {
      var li = el("li", { "data-camera": c.id });
      li.appendChild(el("b", null, (c.name || c.id) + " (" + c.id + ")"));
      li.appendChild(el("div", { "class": "meta" }, (c.area || t("area_none")) + " · " + (c.public ? t("public_yes") : t("public_no")) +
        (c.detectors && c.detectors.length ? " · " + c.detectors.join(", ") : "")));
      li.appendChild(el("div", { "class": "meta" }, c.url));
      var row = el("div", { "class": "row" });
      var ed = el("button", { type: "button", "class": "secondary edit" }, t("edit"));
      ed.onclick = function () { openEditor({ existing: c }); };
      var rm = el("button", { type: "button", "class": "secondary remove" }, t("remove"));
      rm.onclick = function () {
        if (!confirm(t("confirm_remove", { id: c.id }))) return;
        api("DELETE", "cameras/" + encodeURIComponent(c.id)).then(function (s) { st.cameras = s.cameras; render(); }, function (e) { alert(errText(e)); });
      };
      row.appendChild(ed); row.appendChild(rm); li.appendChild(row); ul.appendChild(li);
    });
    var dl = $("areas"); dl.textContent = "";
    st.areas.forEach(function (a) { dl.appendChild(el("option", { value: a })); });
  }

  function discover() {
    var b = $("discover-btn"); b.disabled = true;
    msg("discover-msg", t("searching"));
    $("devices").textContent = "";
    api("POST", "discover", {}).then(function (r) {
      var text = r.devices.length ? t("found", { n: r.devices.length }) : t("none_found");
      if (r.refused && r.refused.length) text += " · " + t("refused", { n: r.refused.length });
      msg("discover-msg", text);
      r.devices.forEach(function (d, i) {
        var li = el("li", { "class": "device", "data-xaddr": d.xaddrs[0] });
        li.appendChild(el("b", null, d.name || d.hardware || d.xaddrs[0]));
        li.appendChild(el("div", { "class": "meta" }, (d.hardware ? d.hardware + " · " : "") + d.xaddrs[0]));
        var u = el("input", { "class": "dev-user", placeholder: t("user"), autocapitalize: "none", "aria-label": t("user") });
        var p = el("input", { "class": "dev-pass", type: "password", placeholder: t("pass"), "aria-label": t("pass") });
        var c = el("button", { type: "button", "class": "connect" }, t("connect"));
        c.onclick = function () { connect(d.xaddrs[0], u.value, p.value, d.name || ""); };
        li.appendChild(u); li.appendChild(p); li.appendChild(el("div", { "class": "row" })).appendChild(c);
        $("devices").appendChild(li);
      });
    }, function (e) { msg("discover-msg", errText(e), "error"); }).finally(function () { b.disabled = false; });
  }

  function manual() {
    var a = $("manual-url").value.trim(), u = $("manual-user").value, p = $("manual-pass").value;
    if (!a) return;
    if (/^rtsps?:\/\//i.test(a)) { openEditor({ main: a, user: u, pass: p, name: "" }); return; }
    if (!/^https?:\/\//i.test(a)) a = "http://" + a + "/onvif/device_service";
    connect(a, u, p, "");
  }

  function connect(xaddr, user, pass, name) {
    openEditor({ user: user, pass: pass, name: name, connecting: true });
    api("POST", "onvif", { xaddr: xaddr, username: user, password: pass }).then(function (r) {
      var ps = r.profiles;
      st.cam.main = ps[0].uri; st.cam.sub = ps.length > 1 ? ps[1].uri : "";
      $("cam-live").value = st.cam.sub ? "sub" : "main";
      $("cam-live").querySelector("option[value=sub]").disabled = !st.cam.sub;
      var info = $("probe-info"); info.textContent = "";
      info.appendChild(el("div", null, t("streams") + ": " + ps.map(function (p) {
        return (p.name || p.token) + " " + p.encoding + " " + p.width + "×" + p.height + (p.fps ? " " + p.fps + "fps" : "");
      }).join(" / ")));
      probe({ url: st.cam.main, username: user, password: pass });
    }, function (e) { msg("probe-msg", errText(e), "error"); });
  }

  function probe(body) {
    msg("probe-msg", t("probing"));
    api("POST", "probe", body).then(function (r) {
      msg("probe-msg", r.codec + " · " + r.width + "×" + r.height + " · " + r.fps + " fps", "ok");
      $("probe-msg").setAttribute("data-probed", "1");
      if (r.preview) { $("preview").src = r.preview; $("preview").hidden = false; }
      else { $("preview").hidden = true; msg("probe-msg", $("probe-msg").textContent + " · " + t("no_preview") + r.preview_error, "ok"); }
    }, function (e) { msg("probe-msg", errText(e), "error"); });
  }

  function nextID() {
    for (var i = st.cameras.length + 1; ; i++) {
      var id = "cam-" + i;
      if (!st.cameras.some(function (c) { return c.id === id; })) return id;
    }
  }

  function openEditor(o) {
    var c = o.existing;
    st.cam = { existing: !!c, main: o.main || "", sub: "", user: o.user || "", pass: o.pass || "" };
    $("editor").hidden = false;
    $("preview").hidden = true; $("probe-info").textContent = ""; $("probe-msg").removeAttribute("data-probed");
    msg("probe-msg", o.connecting ? t("connecting") : ""); msg("save-msg", "");
    $("cam-id").value = c ? c.id : nextID(); $("cam-id").disabled = !!c;
    $("cam-name").value = c ? c.name : (o.name || "");
    $("cam-area").value = c ? c.area : "";
    $("cam-public").checked = c ? c.public : false;
    $("cam-live").value = c && c.live_url ? "sub" : "main";
    $("cam-live").querySelector("option[value=sub]").disabled = !(c && c.live_url);
    var det = $("cam-detectors"); det.textContent = "";
    st.plugins.forEach(function (p) {
      var l = el("label", { "class": "check" });
      var cb = el("input", { type: "checkbox", value: p, "class": "detector" });
      cb.checked = c ? (c.detectors || []).indexOf(p) >= 0 : p === "tamper";
      l.appendChild(cb); l.appendChild(el("span", null, p + (T[lang][p] ? " — " + t(p) : "")));
      det.appendChild(l);
    });
    if (c) probe({ camera: c.id });
    else if (st.cam.main) probe({ url: st.cam.main, username: st.cam.user, password: st.cam.pass });
    $("editor").scrollIntoView();
  }

  function save() {
    var id = $("cam-id").value.trim();
    if (!id) { msg("save-msg", t("need_id"), "error"); return; }
    var live = $("cam-live").value === "sub" ? st.cam.sub : "";
    var body = {
      name: $("cam-name").value.trim(), area: $("cam-area").value.trim(), public: $("cam-public").checked,
      url: st.cam.main, live_url: live, username: st.cam.user, password: st.cam.pass,
      detectors: Array.prototype.map.call(document.querySelectorAll(".detector:checked"), function (c) { return c.value; })
    };
    if (st.cam.existing && !st.cam.main) {
      // keep the stored URLs; the live stream stays unless switched to main
      body.url = "";
      var cur = st.cameras.filter(function (c) { return c.id === id; })[0];
      body.live_url = $("cam-live").value === "sub" && cur && cur.live_url ? null : "";
    }
    msg("save-msg", t("saving"));
    $("save-btn").disabled = true;
    api("PUT", "cameras/" + encodeURIComponent(id), body).then(function (s) {
      st.cameras = s.cameras; render();
      msg("save-msg", t("saved"), "ok");
    }, function (e) { msg("save-msg", errText(e), "error"); }).finally(function () { $("save-btn").disabled = false; });
  }

  function signIn(body) {
    msg("login-error", "", "error");
    return api("POST", "login", body).then(function (r) {
      if (r && r.enrolled) {
        // The gateway restarts into its identity, and this sign-in with
        // it: say so, with the password to sign in with afterwards.
        var p = $("enrolled");
        p.textContent = t("enrolled", { g: r.enrolled.gateway_id, c: r.enrolled.canteen_id, pw: r.password });
        p.hidden = false;
        $("code-form").hidden = true;
        return;
      }
      return load();
    }, function (e) {
      msg("login-error", errText(e), "error");
      $("password").value = ""; $("password").focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("lang").onclick = function () { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("bk-setup-lang", lang); translate(); };
    $("login-form").onsubmit = function (ev) { ev.preventDefault(); signIn({ password: $("password").value }); };
    $("code-form").onsubmit = function (ev) { ev.preventDefault(); signIn({ code: $("code").value.trim(), fleet: $("fleet").value.trim() }); };
    $("discover-btn").onclick = discover;
    $("manual-btn").onclick = manual;
    $("save-btn").onclick = save;
    $("cancel-btn").onclick = function () { $("editor").hidden = true; };
    $("logout-btn").onclick = function () { api("POST", "logout", {}).then(function () { show(false); }); };
    translate();
    load();
  });
})();
