-- wrk script of data-api.sh: GET one path with the operator's key; with a cursor file, each request
-- reads the next page of the release (the first page, then every page's cursor, round and round).
-- Arguments (after `--`): path, API key, and optionally the cursor file (one cursor a line).
local path, key
local cursors = {}
local n = 0

function setup(thread)
    -- Threads start on different pages.
    thread:set("start", math.random(1, 1000))
end

function init(args)
    path, key = args[1], args[2]
    if args[3] then
        cursors[1] = ""
        for line in io.lines(args[3]) do
            if line ~= "" then cursors[#cursors + 1] = line end
        end
        n = (start or 0) % #cursors
    end
end

function request()
    local p = path
    if #cursors > 0 then
        n = n % #cursors + 1
        if cursors[n] ~= "" then p = p .. "&cursor=" .. cursors[n] end
    end
    return wrk.format("GET", p, { ["Authorization"] = "Bearer " .. key })
end
