-- btree_gist lets one exclusion constraint mix "same desk" (=) with "overlapping time" (&&).
create extension if not exists btree_gist;
