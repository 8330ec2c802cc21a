-- A version number per point for everything the slot engine reads about it: the point, its
-- services, desks and calendar rules. Every change bumps it in the changing transaction, so a
-- process may keep a point's parsed configuration and, inside a booking's transaction, only
-- read this number to know whether what it keeps is still current (scheduling/config.py).
-- The numbers come from one sequence, so a number is never given twice, even after the table
-- is emptied and the points are loaded again. No foreign key: a deleted point's children bump
-- its number while it is being deleted.

create sequence point_config_version;

create table point_config_versions (
    point_id text primary key,
    version  bigint not null
);

insert into point_config_versions (point_id, version)
select id, nextval('point_config_version') from points;

create function point_config_changed() returns trigger
language plpgsql as $$
declare
    changed text[];
begin
    if tg_table_name = 'points' then
        changed := case tg_op when 'INSERT' then array[new.id]
                              when 'DELETE' then array[old.id]
                              else array[old.id, new.id] end;
    elsif tg_table_name = 'services' then
        select coalesce(array_agg(point_id), '{}') into changed
          from point_services
         where service_id = case tg_op when 'DELETE' then old.id else new.id end;
    else
        changed := case tg_op when 'INSERT' then array[new.point_id]
                              when 'DELETE' then array[old.point_id]
                              else array[old.point_id, new.point_id] end;
    end if;
    insert into point_config_versions (point_id, version)
    select p, nextval('point_config_version') from (select distinct unnest(changed) as p) as c
    on conflict (point_id) do update set version = excluded.version;
    return null;
end
$$;

create trigger points_config_changed after insert or update or delete on points
    for each row execute function point_config_changed();
create trigger services_config_changed after update or delete on services
    for each row execute function point_config_changed();
create trigger point_services_config_changed after insert or update or delete on point_services
    for each row execute function point_config_changed();
create trigger desks_config_changed after insert or update or delete on desks
    for each row execute function point_config_changed();
create trigger calendar_rules_config_changed after insert or update or delete on calendar_rules
    for each row execute function point_config_changed();
