--[[
doc/examples/burst_buffer.lua: Slurm's burst_buffer/lua plugin staging a
job's data in and out through rcp-master.  Install as burst_buffer.lua
beside slurm.conf, with BurstBufferType=burst_buffer/lua (and an empty
burst_buffer.conf).  A job asks in its script:

  #BB_LUA stage_in  /archive/run42 /scratch/run42
  #BB_LUA stage_out /scratch/run42/out /archive/run42/out

Slurm runs slurm_bb_data_in while the job is pending: each stage_in is one
`rcpctl submit --wait` run as the job's user (setpriv), so the copy has
that user's permissions; the job starts only if every one succeeded, and
a failed copy keeps it pending (Slurm 22.05: until canceled) with the
copy's message in its reason.  Slurm refuses burst buffers to root's
jobs; burst_buffer.conf may limit them further (AllowUsers=).  Stage-out
runs after the job, in slurm_bb_data_out.  The master's socket is
$RCP_MASTER_SOCKET in slurmctld's environment, else rcpctl's default.
tests/e2e/slurm.sh runs this file.
--]]

-- rcpctl and setpriv; set RCPCTL to a full path if slurmctld's PATH lacks it.
local rcpctl = os.getenv("RCPCTL") or "rcpctl"

local function quote(s)
	return "'" .. string.gsub(s, "'", "'\\''") .. "'"
end

-- The "#BB_LUA <what> SRC DST" lines of the job script.
local function directives(job_script, what)
	local out = {}
	local f = io.open(job_script, "r")
	if f == nil then
		return out
	end
	for line in f:lines() do
		local src, dst = string.match(line,
		    "^#BB_LUA%s+" .. what .. "%s+(%S+)%s+(%S+)")
		if src ~= nil then
			table.insert(out, { src = src, dst = dst })
		end
	end
	f:close()
	return out
end

-- One copy as the job's user; returns slurm.SUCCESS or slurm.ERROR, why.
local function copy(job_id, uid, gid, what, src, dst)
	local cmd = "setpriv --reuid " .. uid .. " --regid " .. gid ..
	    " --init-groups " .. rcpctl .. " submit --wait" ..
	    " --key " .. quote("slurm-bb-" .. job_id .. "-" .. what .. "-" .. dst) ..
	    " --label " .. quote("slurm-" .. job_id) ..
	    " -o -p " .. quote(src) .. " " .. quote(dst) .. " 2>&1; echo \"rc=$?\""
	local p = io.popen(cmd)
	local text = p:read("*a")
	p:close()
	slurm.log_info("burst_buffer.lua: job %s %s %s -> %s: %s", job_id, what,
	    src, dst, text)
	-- Lua 5.1's close gives no exit status: the shell prints it.
	local rc = string.match(text, "rc=(%d+)%s*$")
	if rc == "0" then
		return slurm.SUCCESS, ""
	end
	text = string.gsub(string.gsub(text, "rc=%d+%s*$", ""), "\n", " ")
	return slurm.ERROR, what .. " " .. src .. " (rcpctl exit " ..
	    tostring(rc) .. "): " .. text
end

-- Slurm 22.05 passes no uid and gid to data_in and data_out (later
-- versions do): the job has them.
local function owner(job_id, uid, gid)
	if uid ~= nil and gid ~= nil then
		return uid, gid
	end
	local p = io.popen("scontrol -o show job " .. tonumber(job_id))
	local text = p:read("*a")
	p:close()
	return string.match(text, "UserId=[^(]*%((%d+)%)"),
	    string.match(text, "GroupId=[^(]*%((%d+)%)")
end

local function copy_all(job_id, job_script, uid, gid, what)
	uid, gid = owner(job_id, uid, gid)
	if uid == nil or gid == nil or tonumber(uid) == 0 then
		return slurm.ERROR, "no user to copy as (uid " .. tostring(uid) .. ")"
	end
	for _, d in ipairs(directives(job_script, what)) do
		local rc, why = copy(job_id, uid, gid, what, d.src, d.dst)
		if rc ~= slurm.SUCCESS then
			return rc, why
		end
	end
	return slurm.SUCCESS, ""
end

function slurm_bb_job_process(job_script, uid, gid)
	return slurm.SUCCESS, ""
end

function slurm_bb_pools()
	return slurm.SUCCESS, ""
end

function slurm_bb_job_teardown(job_id, job_script, hurry, uid, gid)
	return slurm.SUCCESS, ""
end

function slurm_bb_setup(job_id, uid, gid, pool, bb_size, job_script)
	return slurm.SUCCESS, ""
end

function slurm_bb_data_in(job_id, job_script, uid, gid)
	return copy_all(job_id, job_script, uid, gid, "stage_in")
end

function slurm_bb_real_size(job_id, uid, gid)
	return slurm.SUCCESS, ""
end

function slurm_bb_paths(job_id, job_script, path_file, uid, gid)
	return slurm.SUCCESS, ""
end

function slurm_bb_pre_run(job_id, job_script, uid, gid)
	return slurm.SUCCESS, ""
end

function slurm_bb_post_run(job_id, job_script, uid, gid)
	return slurm.SUCCESS, ""
end

function slurm_bb_data_out(job_id, job_script, uid, gid)
	return copy_all(job_id, job_script, uid, gid, "stage_out")
end

function slurm_bb_get_status(uid, gid, ...)
	return slurm.SUCCESS, "rcp-master stages data: see rcpctl list\n"
end
