-- SPDX-License-Identifier: GPL-2.0-or-later
ardour {
	["type"]    = "dsp",
	name        = "oneiro test: latent delay",
	category    = "Utility",
	license     = "GPL-3.0-or-later",
	author      = "oneiro tests",
	description = [[A reference for tests/ardour: delays each channel by a fixed number of samples and reports it as latency, the way oneiro does at depth 0. If Ardour compensates this one exactly and not oneiro, the fault is oneiro's.]]
}

-- the delay in samples (oneiro's latency is of this order: 1.5 windows)
local L = 70001
-- the delay lines live outside the Lua heap (an instance's heap is small)
local mem, pos

function dsp_ioconfig ()
	return { { audio_in = 2, audio_out = 2 } }
end

function dsp_init (rate)
	mem = ARDOUR.DSP.DspShm (2 * L)
	mem:clear ()
	pos = 1
end

function dsp_latency ()
	return L
end

function dsp_run (ins, outs, n_samples)
	local p
	for c = 1, #outs do
		local a = ins[c]:array ()
		local o = outs[c]:array ()
		local b = mem:to_float ((c - 1) * L):array ()
		p = pos
		for i = 1, n_samples do
			local x = a[i]
			o[i] = b[p]
			b[p] = x
			p = p + 1
			if p > L then p = 1 end
		end
	end
	pos = p
end
