# A tree walker run inside ruby.wasm against a directory given by the host: one line per
# entry with what a program sees through the WASI runtime's filesystem — type, size, link
# count, mtime (seconds), a SHA-256 of each regular file's bytes, each symlink's target and each
# directory's sorted children. WALK_ROOT and WALK_SKIP are defined by the harness
# (tests/guests/ruby.ts walkScript). The harness compares the listing of an EROFS image
# with the listing of the same tree unpacked on the host. Paths are built from WALK_ROOT
# rather than with Dir.chdir, which wasi-libc's emulated cwd handles poorly ("/" itself is
# not under a preopen).
require 'digest'

# Iterative (an explicit stack, depth-first in sorted order): fixture trees are 40 levels
# deep, and a recursive walk overflows the JavaScript stack ruby.wasm runs on.
def walk(out)
  stack = ['.']
  until stack.empty?
    rel = stack.pop
    path = rel == '.' ? WALK_ROOT : File.join(WALK_ROOT, rel)
    st = File.lstat(path)
    # A directory's size is the filesystem's own business (4096 on ext4, the dirent bytes
    # on EROFS), so it is left out.
    fields = [rel, st.ftype, st.directory? ? '-' : st.size, st.nlink, st.mtime.to_i]
    case st.ftype
    when 'file'
      fields << Digest::SHA256.hexdigest(File.binread(path))
    when 'link'
      fields << File.readlink(path)
    when 'directory'
      if WALK_SKIP.include?(rel)
        fields << '(skipped)'
      else
        kids = Dir.children(path).sort
        fields << kids.length
        kids.reverse_each { |k| stack.push(rel == '.' ? k : File.join(rel, k)) }
      end
    end
    out << fields.join(' ')
  end
  out
end

out = []
walk(out)
# Dir.glob's own walk, as a second reader of the same directories.
globbed = Dir.glob('**/*', File::FNM_DOTMATCH, base: WALK_ROOT).reject do |p|
  File.basename(p) == '.' || WALK_SKIP.any? { |s| p.start_with?(s + '/') }
end
out << "glob #{globbed.length} #{Digest::SHA256.hexdigest(globbed.sort.join("\n"))}"
out.join("\n")
