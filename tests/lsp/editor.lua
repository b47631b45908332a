-- Neovim as the client of `flow lsp`, for tests/lsp.rs. Run as
--   FLOW_BIN=… FLOW_FILE=… FLOW_OUT=… nvim --headless --clean -c 'luafile tests/lsp/editor.lua'
-- It opens FLOW_FILE (a template with `amount` misspelt `amout`), waits for the
-- diagnostics, asks for a hover on `amount`, applies the quick fix, asks for the
-- document's symbols, types a half condition and asks for completions there, then
-- lays the buffer out badly and formats it through the server, and writes all it
-- received to FLOW_OUT as JSON and quits. Any error is written there too.

local bin = os.getenv('FLOW_BIN')
local file = os.getenv('FLOW_FILE')
local out_path = os.getenv('FLOW_OUT')
local result = { nvim = tostring(vim.version().major) .. '.' .. tostring(vim.version().minor) }

local function write_out()
  local f = assert(io.open(out_path, 'w'))
  f:write(vim.fn.json_encode(result))
  f:close()
end

-- The (0-based) line and column just after the first `needle` in the buffer.
local function after(buf, needle)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local s, e = string.find(line, needle, 1, true)
    if s then
      return { line = i - 1, character = e }
    end
  end
  error('not in the buffer: ' .. needle)
end

local function request(client, buf, method, params)
  local resp, err = client.request_sync(method, params, 10000, buf)
  if not resp then
    error(method .. ': ' .. tostring(err))
  end
  if resp.err then
    error(method .. ': ' .. vim.inspect(resp.err))
  end
  return resp.result
end

local function run()
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  local published = {}
  local config = {
    name = 'flow',
    cmd = { bin, 'lsp' },
    root_dir = vim.fn.fnamemodify(file, ':h'),
    flags = { debounce_text_changes = 0 },
    handlers = {
      ['textDocument/publishDiagnostics'] = function(err, res, ctx, cfg)
        table.insert(published, res)
        vim.lsp.diagnostic.on_publish_diagnostics(err, res, ctx, cfg)
      end,
    },
  }
  local client_id
  if vim.lsp.start then
    client_id = vim.lsp.start(config)
  else
    client_id = vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(buf, client_id)
  end
  if not vim.wait(20000, function() return #published > 0 end, 50) then
    error('no diagnostics within 20 s')
  end
  local client = vim.lsp.get_client_by_id(client_id)
  local uri = vim.uri_from_bufnr(buf)

  -- The diagnostics as received, and as the editor shows them.
  local diagnostics = published[#published].diagnostics
  result.diagnostics = diagnostics
  result.shown = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(result.shown, { lnum = d.lnum, col = d.col, message = d.message })
  end

  -- Hover on `amount` in the `append` table.
  local hover = request(client, buf, 'textDocument/hover', {
    textDocument = { uri = uri },
    position = after(buf, '"Amount": am'),
  })
  result.hover = hover and hover.contents and hover.contents.value

  -- The quick fix for the misspelt field, applied by the editor.
  local typo
  for _, d in ipairs(diagnostics) do
    if d.code == 'E0102' then typo = d end
  end
  if not typo then error('no E0102 among the diagnostics') end
  local actions = request(client, buf, 'textDocument/codeAction', {
    textDocument = { uri = uri },
    range = typo.range,
    context = { diagnostics = { typo } },
  })
  local fix = actions and actions[1]
  if not fix then error('no quick fix') end
  result.quickfix = { title = fix.title, edit = fix.edit.changes[uri][1] }
  vim.lsp.util.apply_workspace_edit(fix.edit, client.offset_encoding or 'utf-16')
  result.fixed_line = vim.api.nvim_buf_get_lines(buf, typo.range.start.line, typo.range.start.line + 1, false)[1]

  -- The outline.
  local symbols = request(client, buf, 'textDocument/documentSymbol', {
    textDocument = { uri = uri },
  })
  result.symbols = {}
  for _, sym in ipairs(symbols or {}) do
    table.insert(result.symbols, { name = sym.name, kind = sym.kind, detail = sym.detail })
  end

  -- Type half a condition and ask what may follow.
  local at = after(buf, 'update customer')
  local typed = '        if customer != null and '
  vim.api.nvim_buf_set_lines(buf, at.line, at.line, false, { typed })
  vim.wait(300)
  local completion = request(client, buf, 'textDocument/completion', {
    textDocument = { uri = uri },
    position = { line = at.line, character = #typed },
  })
  local items = completion and (completion.items or completion) or {}
  result.completion = {}
  for _, item in ipairs(items) do
    table.insert(result.completion, item.label)
  end

  -- Take the half condition away, halve every indentation, and format the buffer.
  vim.api.nvim_buf_set_lines(buf, at.line, at.line + 1, false, {})
  local messy = {}
  for _, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    local indent = string.match(line, '^ *')
    table.insert(messy, string.rep(' ', math.floor(#indent / 2)) .. string.sub(line, #indent + 1))
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, messy)
  result.messy = table.concat(messy, '\n')
  vim.wait(300)
  if vim.lsp.buf.format then
    vim.lsp.buf.format({ bufnr = buf, timeout_ms = 10000 })
  else
    vim.lsp.buf.formatting_sync(nil, 10000)
  end
  result.formatted = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
end

local ok, err = pcall(run)
if not ok then
  result.error = tostring(err)
end
write_out()
vim.cmd('qa!')
