-- SPDX-License-Identifier: GPL-2.0-or-later
-- step.lua -- one step of tests/ardour/run.sh in one ardour7-lua process:
-- ONEIRO_STEP names it. Each step that exports does exactly one export:
-- Ardour 7.3 crashes now and then on a second export in the same process
-- (see NOTES.md), so the state a later step needs goes through the saved
-- session, which also tests state save and restore.
--
--   create    new 48 kHz session, one stereo audio track; save
--   noplugin  export the track as it is (the harness: export == input)
--   refdelay  insert a latent Lua delay (scripts/oneiro_test_delay.lua),
--             export (Ardour's own latency compensation, the yardstick)
--   depth0    insert oneiro, Depth 0, export; save
--   bypass    Depth 0.5, the insert bypassed by its lv2:enabled port, export
--   inactive  Depth 0.5, the insert deactivated, export
--   dream     Depth at its default, "Layer 3" automated 0 -> 2 over the
--             file (automation state Play), export; save
--   reload    export the saved session as it is
--   static    (issue 13) insert oneiro, Layer 1 = 1, Depth 0.7, export
--             (twice with ONEIRO_TWICE=1), save
--   ramp      the same with Layer 1 automated 0 -> 1 instead
--   again     export the saved session as it is (twice with ONEIRO_TWICE=1)
-- create takes the rate from ONEIRO_RATE (48000); ONEIRO_EXPORT_PREROLL
-- sets Ardour's export pre-roll (seconds) before a step
dofile(os.getenv("ONEIRO_ARDOUR_DIR") .. "/common.lua")
T.start_engine()

local step = T.env("ONEIRO_STEP")

local function insert_oneiro(s, t)
	local proc = ARDOUR.LuaAPI.new_plugin(s, T.env("ONEIRO_URI"), ARDOUR.PluginType.LV2, "")
	assert(not proc:isnil(), "cannot instantiate " .. T.env("ONEIRO_URI"))
	assert(t:add_processor_by_index(proc, 0, nil, true) == 0, "cannot insert the plugin")
	T.say("inserted %s on %s", proc:to_insert():plugin(0):name(), t:name())
	return proc
end

local function saved_oneiro(t)
	local proc = T.find_plugin(t)
	assert(proc, "the saved session has no oneiro insert on " .. t:name())
	return proc
end

local function report(proc)
	local pi = proc:to_insert()
	local _, port3 = T.param(proc, "Layer 3")
	local ac = proc:to_automatable():automation_control(Evoral.Parameter(ARDOUR.AutomationType.PluginAutomation, 0, port3), false)
	T.say("oneiro: enabled %s, active %s, Depth %g, Layer 3 %g (automation state %s, %d events), latency %d samples",
	      tostring(pi:enabled()), tostring(proc:active()), T.get(proc, "Depth"), T.get(proc, "Layer 3"),
	      tostring(ac:automation_state()), ac:alist():size(), T.get(proc, "Latency"))
end

local function main()
	if step == "create" then
		local rate = tonumber(os.getenv("ONEIRO_RATE") or "48000")
		local s = create_session(T.env("ONEIRO_SESSION_DIR"), T.env("ONEIRO_SESSION_NAME"), rate)
		assert(s, "cannot create the session")
		assert(s:nominal_sample_rate() == rate, "session rate " .. s:nominal_sample_rate())
		local tl = s:new_audio_track(2, 2, nil, 1, T.env("ONEIRO_TRACK"), ARDOUR.PresentationInfo.max_order,
		                             ARDOUR.TrackMode.Normal, true)
		assert(tl:size() == 1, "no track")
		-- Ardour connects a new track to the master bus from another
		-- thread, a moment later: wait for it, or saving now would store
		-- an unconnected track (and every export would be silent)
		local t, master = tl:front(), s:master_out()
		local function connected()
			for c = 0, 1 do
				local p = t:output():audio(c)
				if p:isnil() or not p:connected_to(master:input():audio(c):name()) then
					return false
				end
			end
			return true
		end
		for i = 1, 50 do
			if connected() then
				break
			end
			sleep(0.1)
		end
		assert(connected(), "the track is not connected to the master bus")
		T.save(s)
		return
	end

	local s = load_session(T.env("ONEIRO_SESSION_DIR"), T.env("ONEIRO_SESSION_NAME"))
	assert(s, "cannot load the session")
	if os.getenv("ONEIRO_EXPORT_PREROLL") then
		ARDOUR.config():set_export_preroll(tonumber(os.getenv("ONEIRO_EXPORT_PREROLL")))
	end
	T.say("Ardour's export pre-roll setting: %g s", ARDOUR.config():get_export_preroll())
	local t = T.track(s)
	local out = T.env("ONEIRO_EXPORT_NAME")

	if step == "noplugin" then
		T.export(s, t, 0, out)

	elseif step == "refdelay" then
		local ref = ARDOUR.LuaAPI.new_plugin(s, "oneiro test: latent delay", ARDOUR.PluginType.Lua, "")
		assert(not ref:isnil(), "no Lua script 'oneiro test: latent delay' (XDG_CONFIG_HOME/ardour7/scripts)")
		assert(t:add_processor_by_index(ref, 0, nil, true) == 0, "cannot insert the reference delay")
		T.export(s, t, tonumber(T.env("ONEIRO_REF_LATENCY")), out)

	elseif step == "depth0" then
		local proc = insert_oneiro(s, t)
		T.set(proc, "Depth", 0)
		local lat = T.get(proc, "Latency")
		T.say("oneiro reports a latency of %d samples (%.3f s)", lat, lat / s:nominal_sample_rate())
		T.export(s, t, lat, out)
		T.save(s)

	elseif step == "bypass" then
		local proc = saved_oneiro(t)
		T.set(proc, "Depth", 0.5)
		proc:to_insert():enable(false)
		report(proc)
		T.export(s, t, T.get(proc, "Latency"), out)

	elseif step == "inactive" then
		local proc = saved_oneiro(t)
		T.set(proc, "Depth", 0.5)
		proc:deactivate()
		report(proc)
		-- Ardour leaves an inactive processor out of the route's latency
		T.export(s, t, 0, out)

	elseif step == "dream" then
		local proc = saved_oneiro(t)
		local pi = proc:to_insert()
		local _, dport = T.param(proc, "Depth")
		local _, pd = pi:plugin(0):get_parameter_descriptor(dport, ARDOUR.ParameterDescriptor())
		T.set(proc, "Depth", pd[2].normal)
		local nframes = tonumber(T.env("ONEIRO_FRAMES"))
		local n3, port3 = T.param(proc, "Layer 3")
		local al, cl = ARDOUR.LuaAPI.plugin_automation(proc, n3)
		assert(not al:isnil(), "no automation list for Layer 3")
		cl:clear_list()
		cl:add(Temporal.timepos_t(0), 0, false, false)
		cl:add(Temporal.timepos_t(nframes), 2, false, false)
		local ac = proc:to_automatable():automation_control(Evoral.Parameter(ARDOUR.AutomationType.PluginAutomation, 0, port3), false)
		assert(not ac:isnil(), "no automation control for Layer 3")
		ac:set_automation_state(ARDOUR.AutoState.Play)
		assert(ac:automation_state() == ARDOUR.AutoState.Play, "Layer 3 automation is not in Play")
		T.say("Layer 3 is parameter %d (LV2 port %d): ramp %g -> %g over %d frames",
		      n3, port3, cl:eval(Temporal.timepos_t(0)), cl:eval(Temporal.timepos_t(nframes)), nframes)
		report(proc)
		T.export(s, t, T.get(proc, "Latency"), out)
		T.save(s)

	elseif step == "reload" then
		-- what the dream step saved must come back
		local proc = saved_oneiro(t)
		report(proc)
		local _, port3 = T.param(proc, "Layer 3")
		local ac = proc:to_automatable():automation_control(Evoral.Parameter(ARDOUR.AutomationType.PluginAutomation, 0, port3), false)
		assert(proc:active() and proc:to_insert():enabled(), "the restored insert is not active and enabled")
		assert(math.abs(T.get(proc, "Depth") - 0.5) < 1e-6, "Depth not restored")
		assert(ac:automation_state() == ARDOUR.AutoState.Play, "Layer 3 automation state not restored")
		assert(ac:alist():size() == 2, "Layer 3 automation events not restored")
		T.say("restored: insert, Depth, Layer 3 automation (Play, 2 events)")
		T.export(s, t, T.get(proc, "Latency"), out)

	elseif step == "static" or step == "ramp" then
		-- issue 13: a fresh insert set up in the running session, exported,
		-- saved (and, with ONEIRO_TWICE, exported once more first)
		local proc = insert_oneiro(s, t)
		T.set(proc, "Depth", 0.7)
		if step == "static" then
			T.set(proc, "Layer 1", 1.0)
		else
			local nframes = tonumber(T.env("ONEIRO_FRAMES"))
			local n1, port1 = T.param(proc, "Layer 1")
			local al, cl = ARDOUR.LuaAPI.plugin_automation(proc, n1)
			assert(not al:isnil(), "no automation list for Layer 1")
			cl:clear_list()
			cl:add(Temporal.timepos_t(0), 0, false, false)
			cl:add(Temporal.timepos_t(nframes), 1, false, false)
			local ac = proc:to_automatable():automation_control(Evoral.Parameter(ARDOUR.AutomationType.PluginAutomation, 0, port1), false)
			ac:set_automation_state(ARDOUR.AutoState.Play)
			assert(ac:automation_state() == ARDOUR.AutoState.Play, "Layer 1 automation is not in Play")
			T.say("Layer 1 automated 0 -> 1 over %d frames", nframes)
		end
		T.say("oneiro: Depth %g, Layer 1 %g, latency %d", T.get(proc, "Depth"), T.get(proc, "Layer 1"), T.get(proc, "Latency"))
		T.export(s, t, T.get(proc, "Latency"), out)
		if os.getenv("ONEIRO_TWICE") == "1" then
			T.export(s, t, T.get(proc, "Latency"), out .. "b")
		end
		T.save(s)

	elseif step == "again" then
		-- the session a static or ramp step saved, as it is
		local proc = saved_oneiro(t)
		T.say("restored oneiro: Depth %g, Layer 1 %g, latency %d", T.get(proc, "Depth"), T.get(proc, "Layer 1"), T.get(proc, "Latency"))
		T.export(s, t, T.get(proc, "Latency"), out)
		if os.getenv("ONEIRO_TWICE") == "1" then
			T.export(s, t, T.get(proc, "Latency"), out .. "b")
		end

	else
		error("unknown step " .. step)
	end
end

main()
T.say("step %s complete", step)
T.close()
