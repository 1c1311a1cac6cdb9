-- lighttpd (mod_magnet, conf/lighttpd.conf): serves the build's precompressed
-- copy of a static file (file.br, file.gz beside it; conf/build-www.sh) to a
-- client whose Accept-Encoding takes it. lighttpd 1.4.69 has no
-- precompressed-file support of its own, and mod_deflate would compress the
-- same bytes again on every request (or keep a cache by ETag).
-- Runs when the physical path is known; mod_staticfile then sends the chosen
-- file (ETag, Range, conditional requests all apply to the encoded bytes, as
-- HTTP wants). Vary: Accept-Encoding is set by lighttpd.conf for every
-- compressible path, whichever encoding is sent.
local r = lighty.r
local path = r.req_attr["physical.path"]
local accept = r.req_header["Accept-Encoding"]
if not path or not accept then
  return 0
end

-- A folder ("/", "/docs/") is its index.html (lighttpd.conf's index-file),
-- which mod_indexfile would only pick after this script.
local dir = lighty.c.stat(path)
if dir and dir.is_dir then
  path = path:gsub("/*$", "/") .. "index.html"
end

-- The q of a content-coding in Accept-Encoding (RFC 9110 12.5.3): 0 when
-- absent, when refused with q=0, or (for "*") never used here.
local function quality(coding)
  for item in string.gmatch(accept:lower(), "[^,]+") do
    local name, params = item:match("^%s*([^;%s]+)%s*(.*)$")
    if name == coding then
      local q = params:match("q%s*=%s*([0-9.]+)")
      return q and tonumber(q) or 1
    end
  end
  return 0
end

for _, enc in ipairs({ { "br", ".br" }, { "gzip", ".gz" } }) do
  if quality(enc[1]) > 0 then
    local packed = lighty.c.stat(path .. enc[2])
    if packed and packed.is_file then
      local plain = lighty.c.stat(path)
      -- Only a copy of an existing file: a stray .br alone is not a page.
      if plain and plain.is_file then
        r.resp_header["Content-Type"] = plain["content-type"]
        r.resp_header["Content-Encoding"] = enc[1]
        r.req_attr["physical.path"] = path .. enc[2]
      end
      return 0
    end
  end
end
return 0
