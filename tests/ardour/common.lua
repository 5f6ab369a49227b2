-- SPDX-License-Identifier: GPL-2.0-or-later
-- common.lua -- shared by the Ardour session scripts of tests/ardour/run.sh.
-- Loaded with dofile() by ardour7-lua (luasession); settings come from the
-- environment that run.sh sets.
T = {}

-- Every line meant for run.sh starts with this tag.
function T.say(fmt, ...)
	print("ONEIRO-ARDOUR: " .. string.format(fmt, ...))
end

function T.env(name)
	local v = os.getenv(name)
	assert(v and v ~= "", "missing environment variable " .. name)
	return v
end

-- The dummy backend: no audio hardware, runs anywhere.
function T.start_engine()
	AudioEngine:set_backend("None (Dummy)", "", "")
	assert(AudioEngine:current_backend_name() == "Dummy", "no dummy backend")
end

function T.track(session)
	local t = session:route_by_name(T.env("ONEIRO_TRACK"))
	assert(not t:isnil(), "no track " .. T.env("ONEIRO_TRACK"))
	return t
end

-- The first oneiro insert on a route.
function T.find_plugin(route)
	local i = 0
	while true do
		local p = route:nth_plugin(i)
		if p:isnil() then
			return nil
		end
		local pi = p:to_insert()
		if not pi:isnil() and pi:plugin(0):unique_id() == T.env("ONEIRO_URI") then
			return p
		end
		i = i + 1
	end
end

-- A control by its label. Returns the parameter number that
-- ARDOUR.LuaAPI.set_processor_param / plugin_automation take (the position
-- among all control ports, outputs included) and the LV2 port index that
-- Evoral.Parameter takes.
function T.param(proc, label)
	local plug = proc:to_insert():plugin(0)
	local n = 0
	for i = 0, plug:parameter_count() - 1 do
		if plug:parameter_is_control(i) then
			if plug:parameter_label(i) == label then
				local port, ref = plug:nth_parameter(n, true)
				assert(port == i, "nth_parameter disagrees for " .. label)
				return n, i
			end
			n = n + 1
		end
	end
	error("the plugin has no control labelled " .. label)
end

function T.set(proc, label, value)
	local n = T.param(proc, label)
	assert(ARDOUR.LuaAPI.set_processor_param(proc, n, value), "cannot set " .. label)
	local got = ARDOUR.LuaAPI.get_processor_param(proc, n, true)
	T.say("set %s (parameter %d) = %g, reads back %g", label, n, value, got)
end

function T.get(proc, label)
	local n = T.param(proc, label)
	return ARDOUR.LuaAPI.get_processor_param(proc, n, true)
end

-- Ardour recomputes latencies asynchronously: after a latent plugin is
-- inserted, (re)activated or its latency changes, the route's latency and
-- the session's worst-case latency pre-roll (what an export rolls before its
-- start so that latent plugins have heard the range's first samples) are
-- updated a few cycles later. An export started before that is still
-- aligned but its first `latency` samples are silent. Waits (up to 10 s)
-- until the route has the expected latency and the pre-roll covers it.
function T.settle(session, route, expect)
	for i = 1, 100 do
		local rl, pre = route:signal_latency(), session:worst_latency_preroll()
		if rl == expect and pre >= expect then
			T.say("latency settled after %.1f s: route %d, export pre-roll %d samples", (i - 1) / 10, rl, pre)
			return true
		end
		sleep(0.1)
	end
	T.say("latency not settled: route %d (expected %d), export pre-roll %d samples",
	      route:signal_latency(), expect, session:worst_latency_preroll())
	return false
end

-- Exports the master bus over the session range with the test's preset
-- (32-bit float WAV at the session rate) to $ONEIRO_EXPORT_DIR/NAME.wav,
-- once the route's latency is `expect` (see T.settle).
function T.export(session, route, expect, name)
	T.settle(session, route, expect)
	local e = session:simple_export()
	assert(e:set_preset(T.env("ONEIRO_PRESET_ID")), "export preset " .. T.env("ONEIRO_PRESET_ID") .. " not found")
	e:set_folder(T.env("ONEIRO_EXPORT_DIR"))
	e:set_name(name)
	local ok = e:run_export()
	T.say("export %s %s", name, ok and "done" or "FAILED")
	assert(ok, "the export of " .. name .. " failed")
end

function T.save(session)
	local rv = session:save_state("", false, false, false, false, false)
	assert(rv == 0, "save_state failed")
	T.say("saved %s", session:path())
end

-- Ends the script. Every Lua reference to a session object (routes,
-- processors, controls) must be gone first: luasession destroys the Session
-- in close_session() and a Route that Lua still holds is destroyed later,
-- reading the freed Session (valgrind: invalid reads in IO::~IO and
-- Stripable::~Stripable from LuaState::~LuaState), which is how a run
-- crashes at teardown. So scripts keep their objects in locals of a
-- function that has returned by now.
function T.close()
	collectgarbage()
	collectgarbage()
	close_session()
	quit()
end
