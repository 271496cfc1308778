"""The bad-input corpus of `test_bad_inputs.py`, generated at run time: every image is made here (Pillow, or byte by byte
with `struct` and `zlib`), nothing binary is committed. Also what the tests need to prove that nothing under a data folder
changes (`snapshot`: every path, files hashed; `unchanged`), and for chmod to hold when the tests run as root
(`permissions_enforced`, `without_override`)."""
from __future__ import annotations
import ctypes, hashlib, os, platform, shutil, stat, struct, subprocess, tempfile, zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
import numpy as np
from PIL import Image

SIZE = 32  # side of the generated images, and the `size=` of every run

# ---------------------------------------------------------------- images
def noise(seed:int, size:tuple=(SIZE, SIZE))->Image.Image:
    "A random RGB image (`size` is width, height)."
    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))

def solid(color, mode:str='RGB', size:tuple=(SIZE, SIZE))->Image.Image: return Image.new(mode, size, color)

def save(im:Image.Image, f:Path, **kw)->Path:
    f.parent.mkdir(parents=True, exist_ok=True)
    im.save(f, **kw)
    return f

def png_chunk(tag:bytes, data:bytes)->bytes:
    return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', zlib.crc32(tag + data) & 0xffffffff)

def png_bytes(w:int, h:int, depth:int, ctype:int, raw:bytes)->bytes:
    "A PNG built by hand: header `w` x `h`, bit depth `depth`, colour type `ctype` (0 grey, 2 RGB, 6 RGBA), `raw` scanlines."
    return (b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, 0))
            + png_chunk(b'IDAT', zlib.compress(raw)) + png_chunk(b'IEND', b''))

def huge_png(side:int=20000)->bytes:
    "A 60-byte PNG whose header declares `side` x `side` pixels, with a valid, tiny IDAT (one black scanline's worth)."
    return png_bytes(side, side, 8, 0, b'\x00' * 4)

RGB16 = (0x8080, 0x1010, 0xF0F0)  # 16-bit RGB; read as 8-bit it is (128, 16, 240)
def rgb16_png(color=RGB16, w:int=SIZE, h:int=SIZE)->bytes:
    "A 48-bit RGB PNG of one colour (Pillow cannot write these)."
    row = b'\x00' + struct.pack('>HHH', *color) * w
    return png_bytes(w, h, 16, 2, row * h)

def exif_rotated(f:Path, orientation:int=6)->Path:
    "A 48 x 24 JPEG, left half red, right half blue, tagged with EXIF `orientation` (6: show it turned 90 degrees clockwise)."
    a = np.zeros((24, 48, 3), np.uint8)
    a[:, :24] = (255, 0, 0); a[:, 24:] = (0, 0, 255)
    ex = Image.Exif(); ex[0x0112] = orientation
    return save(Image.fromarray(a), f, exif=ex.tobytes(), quality=95)

def jpeg_bytes(seed:int=0)->bytes:
    import io
    b = io.BytesIO(); noise(seed).save(b, 'JPEG', quality=90)
    return b.getvalue()

def write(f:Path, data:bytes|str)->Path:
    f.parent.mkdir(parents=True, exist_ok=True)
    (f.write_text if isinstance(data, str) else f.write_bytes)(data)
    return f

def flip_byte(data:bytes, at:float=0.5)->bytes:
    "`data` with the byte at fraction `at` of its length inverted."
    i = int(len(data) * at)
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]

# ---------------------------------------------------------------- the image cases
@dataclass
class ImageCase:
    "One file or folder of the image corpus: where it goes, how it is made, and what tlnb should do with it."
    name:str # the case, as the table shows it
    rel:str # its path under the data folder
    make:Callable[[Path], None] # makes it at that path
    expect:str # 'trained' (used for training) or 'left out' (listed as skipped, with `reason`)
    reason:str = '' # a part of the reason it must be listed with
    rgb:tuple|None = None # the mean colour it must decode to (any size)
    tol:float = 3 # tolerance on that colour
    used:bool = True # for 'trained': the file itself is among the training or validation images (False: a folder with nothing in it)

def _gif(f:Path):
    frames = [noise(i) for i in range(3)]
    save(frames[0], f, save_all=True, append_images=frames[1:], duration=100, loop=0)

def palette(color=(200, 30, 60), size:tuple=(SIZE, SIZE))->Image.Image:
    "A palette image whose every pixel is entry 1 of its palette, `color` (entry 0 black)."
    im = Image.new('P', size, 1)
    im.putpalette([0, 0, 0, *color] + [0] * 762)
    return im

def _palette_trns(f:Path): save(palette(), f, transparency=1)  # its one colour transparent: white, as a viewer shows it

def _loop(f:Path): f.symlink_to('.', target_is_directory=True)  # a link inside a folder to that folder
def _broken(f:Path): f.symlink_to('no-such-file.jpg')
def _empty_dir(f:Path): f.mkdir(parents=True)

IMAGE_CASES = [
    # usable images, in every mode a user meets, each decoded to what a viewer shows
    ImageCase('palette PNG', 'cats/palette.png', lambda f: save(palette(), f), 'trained', rgb=(200, 30, 60)),
    ImageCase('palette PNG with transparency', 'cats/palette-trns.png', _palette_trns, 'trained', rgb=(255, 255, 255)),
    ImageCase('RGBA PNG, half transparent', 'cats/alpha.png', lambda f: save(solid((200, 0, 0, 128), 'RGBA'), f), 'trained', rgb=(227, 127, 127)),
    ImageCase('grey+alpha PNG, transparent', 'dogs/grey-alpha.png', lambda f: save(solid((90, 0), 'LA'), f), 'trained', rgb=(255, 255, 255)),
    ImageCase('greyscale JPEG', 'dogs/grey.jpg', lambda f: save(solid(90, 'L'), f), 'trained', rgb=(90, 90, 90)),
    ImageCase('CMYK JPEG', 'dogs/cmyk.jpg', lambda f: save(solid((0, 255, 255, 0), 'CMYK'), f, quality=95), 'trained', rgb=(255, 0, 0), tol=6),
    ImageCase('16-bit greyscale PNG', 'dogs/deep16.png', lambda f: save(Image.fromarray(np.full((SIZE, SIZE), 0x8080, np.uint16)), f),
              'trained', rgb=(128, 128, 128)),
    ImageCase('16-bit RGB PNG (48-bit)', 'cats/rgb16.png', lambda f: write(f, rgb16_png()), 'trained', rgb=(128, 16, 240)),
    ImageCase('EXIF-rotated JPEG (orientation 6)', 'cats/exif6.jpg', exif_rotated, 'trained'),
    ImageCase('uppercase .JPG', 'dogs/IMG_0001.JPG', lambda f: save(noise(101), f), 'trained'),
    ImageCase('uppercase .JPEG', 'cats/IMG_0002.JPEG', lambda f: save(noise(102), f, format='JPEG'), 'trained'),
    ImageCase('mixed-case .Png', 'dogs/Scan.Png', lambda f: save(noise(103), f, format='PNG'), 'trained'),
    ImageCase('name with spaces', 'cats/my cat  photo (1).jpg', lambda f: save(noise(104), f), 'trained'),
    ImageCase('unicode name', 'dogs/chien été 日本 🐕.jpg', lambda f: save(noise(105), f), 'trained'),
    ImageCase('leading-dash name', 'cats/-rf --help.jpg', lambda f: save(noise(106), f), 'trained'),
    ImageCase('very long name (250 bytes)', 'dogs/' + 'l' * 246 + '.jpg', lambda f: save(noise(107), f), 'trained'),
    ImageCase('image in a nested sub-folder', 'cats/2019/summer/beach.jpg', lambda f: save(noise(108), f), 'trained'),
    ImageCase('zero-size (empty) sub-folder', 'dogs/empty-folder', _empty_dir, 'trained', used=False),
    # files left out, each listed with the reason
    ImageCase('truncated JPEG', 'cats/truncated.jpg', lambda f: write(f, jpeg_bytes(1)[:len(jpeg_bytes(1)) // 2]), 'left out', 'cannot be'),
    ImageCase('corrupt JPEG (garbage after the marker)', 'dogs/corrupt.jpg',
              lambda f: write(f, b'\xff\xd8\xff\xe0' + np.random.default_rng(3).bytes(2000)), 'left out', 'cannot be'),
    ImageCase('empty file', 'dogs/empty.jpg', lambda f: write(f, b''), 'left out', 'empty file (0 bytes)'),
    ImageCase('text file named .jpg', 'cats/notes.jpg', lambda f: write(f, 'this is not a photo\n'), 'left out', 'not an image'),
    ImageCase('animated GIF', 'cats/anim.gif', _gif, 'left out', 'GIF is not a photo format'),
    ImageCase('Thumbs.db', 'cats/Thumbs.db', lambda f: write(f, b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + bytes(120)), 'left out', 'not an image'),
    ImageCase('.DS_Store', 'dogs/.DS_Store', lambda f: write(f, b'\x00\x00\x00\x01Bud1' + bytes(120)), 'left out', 'not an image'),
    ImageCase('PNG declaring 20000 x 20000 pixels', 'cats/huge.png', lambda f: write(f, huge_png()), 'left out', 'too large'),
    ImageCase('broken symlink', 'dogs/gone.jpg', _broken, 'left out', 'broken link'),
    ImageCase('symlink loop (folder link to its own folder)', 'cats/loop', _loop, 'left out', 'loop'),
    ImageCase('hidden folder .thumbnails/ in a class', 'cats/.thumbnails/t.jpg', lambda f: save(noise(109), f), 'left out', 'hidden or system folder'),
    ImageCase('system folder @eaDir/ in a class', 'dogs/@eaDir/d0.jpg', lambda f: save(noise(110), f), 'left out', 'hidden or system folder'),
    ImageCase('hidden folder .thumbnails/ at the top', '.thumbnails/cats/t.jpg', lambda f: save(noise(111), f), 'left out', 'hidden or system folder'),
    ImageCase('system folder __MACOSX/ at the top', '__MACOSX/cats/._c0.jpg', lambda f: write(f, b'\x00\x05\x16\x07' + bytes(80)), 'left out', 'hidden or system folder'),
    ImageCase('system folder @eaDir/ at the top', '@eaDir/cats/c0.jpg', lambda f: save(noise(112), f), 'left out', 'hidden or system folder'),
    ImageCase('stray text file at the top', 'notes.txt', lambda f: write(f, 'my labels\n'), 'left out', 'not inside a class folder'),
    ImageCase('stray JPEG at the top', 'cover.jpg', lambda f: save(noise(113), f), 'left out', 'not inside a class folder'),
]

def listed_path(root:Path, c:ImageCase)->Path:
    "The path the folder report lists for case `c` (the folder, for a file in a hidden or system folder)."
    rel = Path(c.rel)
    hid = next((i for i, p in enumerate(rel.parts[:-1]) if p.startswith('.') or p in ('@eaDir', '__MACOSX')), None)
    return root/Path(*rel.parts[:hid + 1]) if hid is not None else root/rel

def good_images(root:Path, classes=('cats', 'dogs'), n:int=6, seed:int=0, ext:str='jpg')->Path:
    "`n` random images in each class folder of `root`."
    for k, c in enumerate(classes):
        for i in range(n): save(noise(seed + 1000 * k + i), root/c/f'{c[0]}{i}.{ext}')
    return root

def image_corpus(root:Path)->Path:
    "Six good images per class, plus every case of `IMAGE_CASES`."
    good_images(root)
    for c in IMAGE_CASES: c.make(root/c.rel)
    return root

# ---------------------------------------------------------------- layouts
def split_layout(root:Path, valid_names=('val',), extra:str|None=None)->Path:
    "train/ and the validation folders named, two classes each; `extra`: one more folder of class folders beside them."
    good_images(root/'train', n=5)
    for j, v in enumerate(valid_names): good_images(root/v, n=2, seed=50 + j)
    if extra: good_images(root/extra, n=2, seed=70)
    return root

def no_usable_class(root:Path)->Path:
    good_images(root, ('cats',))
    write(root/'dogs'/'Thumbs.db', b'\xd0\xcf\x11\xe0' + bytes(60)); write(root/'dogs'/'empty.jpg', b''); write(root/'dogs'/'x.jpg', 'text')
    return root

def empty_class(root:Path)->Path: good_images(root); (root/'birds').mkdir(); return root
def single_class(root:Path)->Path: return good_images(root, ('cats',), n=8)
def one_per_class(root:Path)->Path: return good_images(root, n=1)

def lopsided(root:Path, n:int=200)->Path:
    "`n` images of one class, a single one of the other."
    good_images(root, ('many',), n=n); save(noise(9999), root/'lone'/'only.jpg')
    return root

def link_to_data_root(root:Path)->Path:
    "Good images, and in one class folder a link to the data folder itself (a loop through the other classes)."
    good_images(root)
    (root/'cats'/'up').symlink_to(root, target_is_directory=True)
    return root

def unreadable_subfolder(root:Path)->Path:
    good_images(root)
    save(noise(7), root/'dogs'/'locked'/'x.jpg')
    os.chmod(root/'dogs'/'locked', 0)
    return root

# ---------------------------------------------------------------- permissions that hold for root too
# chmod does not stop root, who has the capabilities to override file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH).
# Linux keeps capabilities per thread: the calling thread drops them from its effective set for a while (threads it starts
# meanwhile inherit that), and takes them back after; a command is started without them (`setpriv`).
_CAP_V3, _DAC = 0x20080522, (1 << 1) | (1 << 2)  # _LINUX_CAPABILITY_VERSION_3; CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
_SYSCALLS = {'x86_64': (125, 126), 'aarch64': (90, 91)}  # capget, capset
class _CapHeader(ctypes.Structure): _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]
class _CapData(ctypes.Structure): _fields_ = [('effective', ctypes.c_uint32), ('permitted', ctypes.c_uint32), ('inheritable', ctypes.c_uint32)]

def _caps(data=None):
    "This thread's capabilities, or set them to `data`."
    libc, (get, set_) = ctypes.CDLL(None, use_errno=True), _SYSCALLS[platform.machine()]
    h, d = _CapHeader(_CAP_V3, 0), data if data is not None else (_CapData * 2)()
    if libc.syscall(set_ if data is not None else get, ctypes.byref(h), d) != 0: raise RuntimeError(f'capget/capset failed (errno {ctypes.get_errno()})')
    return d

@contextmanager
def permissions_enforced():
    "Within the context, this thread (and the threads it starts) obeys file permissions even as root."
    if os.geteuid() != 0: yield; return
    libc, d = ctypes.CDLL(None, use_errno=True), _caps()
    saved, bits = d[0].effective, libc.prctl(27, 0, 0, 0, 0)  # PR_GET_SECUREBITS
    libc.prctl(28, bits | 4, 0, 0, 0)  # PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP: access() checks with these capabilities too
    d[0].effective &= ~_DAC
    _caps(d)
    try: yield
    finally:
        d[0].effective = saved
        _caps(d)
        libc.prctl(28, bits, 0, 0, 0)

def chmod_holds(in_commands:bool=False)->bool:
    "Whether a folder with mode 000 cannot be listed, within `permissions_enforced` (or, `in_commands`, in a command `without_override` starts)."
    with tempfile.TemporaryDirectory() as t:
        locked = Path(t)/'locked'; locked.mkdir(); os.chmod(locked, 0)
        try:
            if in_commands:
                if os.geteuid() == 0 and not shutil.which('setpriv'): return False
                r = subprocess.run(without_override(['ls', str(locked)]), capture_output=True, text=True)
                return r.returncode != 0 and 'Permission denied' in r.stderr
            with permissions_enforced(): os.listdir(locked)
            return False
        except PermissionError: return True
        except (OSError, RuntimeError, KeyError, AttributeError): return False
        finally: os.chmod(locked, 0o700)

def without_override(cmd:list)->list:
    "`cmd` run so that chmod holds for it as root (started without the override capabilities); as it is for other users."
    if os.geteuid() != 0: return cmd
    return ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--inh-caps', '-dac_override,-dac_read_search', '--', *cmd]

# ---------------------------------------------------------------- nothing changes
def _entry(p:Path):
    st = os.lstat(p)
    if stat.S_ISLNK(st.st_mode): return ('link', os.readlink(p))
    if stat.S_ISDIR(st.st_mode): return ('dir', stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    try: h = hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError as e: h = f'unreadable ({e.strerror})'
    return ('file', stat.S_IMODE(st.st_mode), st.st_size, st.st_mtime_ns, h)

def snapshot(root:Path)->dict[str, tuple]:
    "Every path under `root` (folders and links too, links not followed) with its kind, mode, and for files size, time and hash."
    root = Path(root)
    out = {'.': _entry(root)}
    for d, dirs, files in os.walk(root):  # links to folders are listed in `dirs`, not followed
        for n in dirs + files:
            p = Path(d)/n
            out[str(p.relative_to(root))] = _entry(p)
    return out

def diff(before:dict, after:dict)->str:
    new, gone = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    return '; '.join(f'{what}: {ks[:5]}' for what, ks in (('new', new), ('gone', gone), ('changed', changed)) if ks)

@contextmanager
def unchanged(root:Path):
    "Assert that nothing under `root` is added, removed or changed within the context (even when it raises)."
    before = snapshot(root)
    try: yield before
    finally:
        d = diff(before, snapshot(root))
        assert not d, f'the data folder {root} changed: {d}'
